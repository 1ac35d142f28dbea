// Package web holds what the bank serves to browsers: the frontend
// (static/) and the assets built from npm packages by `make web` (dist/:
// GraphiQL and React for /graphiql). Both are embedded in the binary.
package web

import "embed"

// Files holds static/ and dist/.
//
//go:embed static dist
var Files embed.FS
