//go:build linux

// Package nsenter holds the C stage of `ocirun init`: a constructor (see
// nsexec.c) that runs before the Go runtime in every process of a binary that
// imports this package. When the environment variable _OCIRUN_INITPIPE names
// an init pipe, it reads the bootstrap record (libcontainer/bootstrap_linux.go),
// sets up the container's namespaces and forks the container init, in which
// the Go runtime then starts with the init pipe still open; otherwise it does
// nothing. _OCIRUN_LOGPIPE and _OCIRUN_LOGLEVEL select where and what it logs.
//
// Import it for its side effect, in the main package:
//
//	import _ "github.com/ocirun/ocirun/nsenter"
package nsenter

// #cgo CFLAGS: -Wall -Wextra
import "C"
