package libcontainer

// Logging across the process boundary: `ocirun init` (and the C stage before
// it) write JSON lines {"level":..., "msg":...} to the log pipe; the parent
// re-emits them through its own logger (which writes --log in --log-format).

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
)

// ParseLevel maps runc/logrus level words to slog levels.
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error", "fatal", "panic":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// LevelName is the logrus spelling of a level, which clients parse.
func LevelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warning"
	}
	return "error"
}

func setupInitLogging(w io.Writer, level string) {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: ParseLevel(level),
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.LevelKey {
				return slog.String(slog.LevelKey, LevelName(a.Value.Any().(slog.Level)))
			}
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	slog.SetDefault(slog.New(h))
}

func forwardLogs(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			slog.Warn("malformed log line from init", "line", sc.Text())
			continue
		}
		slog.Log(context.Background(), ParseLevel(rec.Level), rec.Msg, "source", "init")
	}
}
