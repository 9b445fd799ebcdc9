// Package specutil loads and validates an OCI runtime-spec config and holds
// the pure steps that turn its fields into kernel values.
package specutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the name of the config file inside a bundle.
const ConfigName = "config.json"

// Load reads <bundle>/config.json. A field of the wrong JSON type is an error
// naming the field path; unknown fields are ignored, as the spec allows.
func Load(bundle string) (*specs.Spec, error) {
	data, err := os.ReadFile(filepath.Join(bundle, ConfigName))
	if err != nil {
		return nil, err
	}
	var s *specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, decodeError(err)
	}
	if s == nil {
		return nil, fmt.Errorf("%s: must hold a JSON object, not null", ConfigName)
	}
	return s, nil
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "(top level)"
		}
		return &FieldError{Field: field, Problem: fmt.Sprintf("cannot use %s as %s", typeErr.Value, typeErr.Type), Err: err}
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Errorf("%s: invalid JSON at offset %d: %w", ConfigName, syntaxErr.Offset, err)
	}
	return fmt.Errorf("%s: decode: %w", ConfigName, err)
}

// FieldError is one problem with one field of config.json. It prints as
// "config.json: <field path>: <problem>".
type FieldError struct {
	Field   string // JSON path such as "process.user.uid" or "linux.namespaces[2].type"
	Problem string
	Err     error // the underlying cause, if any
}

func (e *FieldError) Error() string {
	return ConfigName + ": " + e.Field + ": " + e.Problem
}

func (e *FieldError) Unwrap() error { return e.Err }
