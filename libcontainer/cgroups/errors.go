package cgroups

import "fmt"

// ResourceError is a failure to apply one field of linux.resources.
type ResourceError struct {
	Field string // JSON path below linux.resources, such as "memory.swappiness"
	Err   error
}

func (e *ResourceError) Error() string { return "linux.resources." + e.Field + ": " + e.Err.Error() }

func (e *ResourceError) Unwrap() error { return e.Err }

func FieldErr(field string, err error) error { return &ResourceError{Field: field, Err: err} }

func FieldErrf(field, format string, args ...any) error {
	return &ResourceError{Field: field, Err: fmt.Errorf(format, args...)}
}
