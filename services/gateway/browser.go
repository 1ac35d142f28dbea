package gateway

import (
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/99designs/gqlgen/graphql/playground"

	"github.com/openbank/bank/web"
)

// graphiqlAssets are the files GraphiQL's page loads, built from npm
// packages into web/dist/graphiql by `make web`.
var graphiqlAssets = []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"}

// graphiql serves GraphiQL at prefix (page) and prefix/assets/ (its files),
// querying endpoint, with no CDN: the assets come from the binary, each
// with its subresource integrity hash. Without the assets (a binary built
// before `make web`) the page explains and the error says so.
func graphiql(mux *http.ServeMux, prefix, endpoint string) (err error) {
	defer func() {
		if err != nil {
			msg := "GraphiQL is not available: " + err.Error() + "\n"
			mux.HandleFunc("GET "+prefix, func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, msg, http.StatusServiceUnavailable)
			})
		}
	}()
	assets, err := fs.Sub(web.Files, "dist/graphiql")
	if err != nil {
		return err
	}
	sri := map[string]string{}
	for _, name := range graphiqlAssets {
		b, err := fs.ReadFile(assets, name)
		if err != nil {
			return fmt.Errorf("its assets are not in this binary (build it after `make web`): %w", err)
		}
		sum := sha512.Sum384(b)
		sri[name] = "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
	}
	url := func(name string) string { return prefix + "/assets/" + name }
	page := playground.Handler("Open Bank GraphiQL", endpoint,
		playground.WithGraphiqlVersion(url("graphiql.min.js"), url("graphiql.min.css"), sri["graphiql.min.js"], sri["graphiql.min.css"]),
		playground.WithGraphiqlReactVersion(url("react.production.min.js"), url("react-dom.production.min.js"),
			sri["react.production.min.js"], sri["react-dom.production.min.js"]),
		playground.WithStoragePrefix("openbank:"),
	)
	scripts, styles := inlineHashes(page)
	mux.Handle("GET "+prefix, withPagePolicy(page, scripts, styles))
	mux.Handle("GET "+prefix+"/assets/", http.StripPrefix(prefix+"/assets/", http.FileServerFS(assets)))
	return nil
}

// frontend serves the browser app built into web/dist/app on /.
func frontend(mux *http.ServeMux) error {
	app, err := fs.Sub(web.Files, "dist/app")
	if err == nil {
		_, err = fs.Stat(app, "index.html")
	}
	if err != nil {
		msg := "The frontend is not in this binary: build it after `make web`.\n"
		mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, msg, http.StatusServiceUnavailable)
		})
		return fmt.Errorf("frontend not built: %w", err)
	}
	mux.Handle("/", withPagePolicy(http.FileServerFS(app), nil, nil))
	return nil
}
