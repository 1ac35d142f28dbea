// Package web holds what the bank serves to browsers, built by `make web`
// (build.mjs) into dist/ and embedded in the binary: the frontend
// (dist/app, served on /) and GraphiQL's assets from npm (dist/graphiql).
package web

import "embed"

// Files holds dist/.
//
//go:embed dist
var Files embed.FS
