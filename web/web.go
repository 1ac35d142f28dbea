// Package web holds the browser frontend, served by the bank over HTTP.
package web

import "embed"

// Files is the frontend's static files.
//
//go:embed static
var Files embed.FS
