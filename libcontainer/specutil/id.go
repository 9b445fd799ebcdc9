package specutil

import (
	"fmt"
	"strings"
)

// maxIDLen bounds a container id; it names a directory under the state root.
const maxIDLen = 1024

// ValidateID checks a container id: non-empty, at most 1024 bytes, not "."
// or "..", and made only of [A-Za-z0-9_+.-].
func ValidateID(id string) error {
	var why string
	switch {
	case id == "":
		why = "must not be empty"
	case len(id) > maxIDLen:
		why = fmt.Sprintf("must be at most %d bytes, not %d", maxIDLen, len(id))
	case id == "." || id == "..":
		why = `must not be "." or ".."`
	case strings.Contains(id, "/"):
		why = `must not contain "/"`
	default:
		if i := strings.IndexFunc(id, func(r rune) bool { return !idChar(r) }); i >= 0 {
			why = fmt.Sprintf("must contain only [A-Za-z0-9_+.-], found %q at byte %d", id[i:i+1], i)
		}
	}
	if why == "" {
		return nil
	}
	return fmt.Errorf("invalid container id %q: %s", id, why)
}

func idChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '_' || r == '+' || r == '.' || r == '-'
}
