# Open Bank. `make run` starts the whole bank; `make test` runs every test.
GO        ?= go
# Below Linux's ephemeral ports (32768-60999): a test's outgoing connection
# or port-0 listener can never hold the broker's port.
KAFKA_PORT ?= 29092
# The real tier's second, secured broker (SASL/SCRAM, ACLs): started by the
# first test that needs it (kafkatest.Secure), on empty storage.
KAFKA_SECURE_PORT ?= 29094
# Each fuzz target runs a fixed number of inputs, about 10 s' worth here (see
# `fuzz`). A duration would end in a spurious "context deadline exceeded" on a
# loaded machine: Go's coordinator races its own deadline (golang/go#75804,
# fixed in Go 1.27). FUZZTIME=1m runs every target for a minute (a duration
# can hit that flake again), FUZZTIME=100000x that many inputs each.
FUZZTIME  ?=
SUDO      ?= $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run build web tools test check test-web test-embedded test-kafka fuzz bench-smoke vulncheck kafka-fetch clean

run: web ## start the whole bank (embedded Kafka + Schema Registry, data in ./data)
	$(GO) run ./cmd/bank

build: web ## build bin/bank
	$(GO) build -o bin/bank ./cmd/bank

web: web/dist/graphiql/BUILT ## browser assets from npm (GraphiQL, React, graphql-ws), embedded in the binary

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/graphiql/BUILT: web/node_modules/.package-lock.json web/build.mjs $(shell find web/src -type f)
	cd web && node build.mjs

tools: ## headless Chromium for the browser tests, PostgreSQL for the SQL reports store and its tests (Debian packages; skipped when present)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "$$CHROMIUM" ] || \
		{ echo "installing chromium (apt-get)"; $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || command -v postgres >/dev/null || [ -n "$$REPORTS_TEST_DB" ] || \
		{ echo "installing postgresql (apt-get)"; $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql >/dev/null; }

test: web tools check test-web test-embedded fuzz bench-smoke test-kafka ## everything CI runs

GENERATED = graph/generated/*.go graph/model/*.go graph/*.resolvers.go graph/reasons.graphqls web/src/codes.js
VENV = .cache/venv

$(VENV)/bin/hadolint: scripts/tools/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r scripts/tools/requirements.txt
	touch $@

check: $(VENV)/bin/hadolint ## formatting, vet, the import rules (no service imports another), generated code matching its schema, the Dockerfile linted
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -run '^(TestServicesMeetOnlyThroughContracts|TestTheDomainHasNoKafkaInIt|TestSaramaIsTheOnlyKafkaClient)$$' ./contract/
	@before=$$(cat $(GENERATED) | sha256sum); $(GO) generate ./... && \
		if [ "$$(cat $(GENERATED) | sha256sum)" != "$$before" ]; then \
			echo "generated code was stale (go generate ./... updated it): commit it"; exit 1; fi
	$(VENV)/bin/hadolint Dockerfile

test-web: web ## the frontend's unit tests (its browser tests run with the Go tests)
	cd web && node --test test/unit/

test-embedded: web tools ## all tests, integration ones on the embedded broker (kfake), and the kfake fork's own
	$(GO) test -race -count=1 ./...
	cd third_party/kfake && $(GO) test -race -count=1 ./...

fuzz: ## each fuzz target briefly: command sequences against the domain, money arithmetic, usernames, Avro decoding, IBANs, GraphQL operations, websocket frames
	$(GO) test -run '^$$' -fuzz '^FuzzCommandSequences$$' -fuzztime $(or $(FUZZTIME),20000x) ./services/commandhandler/domain/
	$(GO) test -run '^$$' -fuzz '^FuzzAddSub$$' -fuzztime $(or $(FUZZTIME),400000x) ./money/
	$(GO) test -run '^$$' -fuzz '^FuzzNormalizeUsername$$' -fuzztime $(or $(FUZZTIME),100000x) ./contract/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(or $(FUZZTIME),20000x) ./topology/
	$(GO) test -run '^$$' -fuzz '^FuzzValid$$' -fuzztime $(or $(FUZZTIME),400000x) ./topology/iban/
	$(GO) test -run '^$$' -fuzz '^FuzzGraphQL$$' -fuzztime $(or $(FUZZTIME),10000x) ./services/gateway/
	$(GO) test -run '^$$' -fuzz '^FuzzWebsocketFrames$$' -fuzztime $(or $(FUZZTIME),3000x) ./services/gateway/

bench-smoke: web tools ## the replay and reports benchmark scripts on a small log, so they keep working (their figures are not checked: benchmarks are compared by hand, docs/benchmarks.md)
	EVENTS=5000 scripts/bench/replay.sh
	EVENTS=5000 scripts/bench/reports.sh

test-kafka: web tools ## all tests again, integration ones on a real Apache Kafka broker (and the least-privilege ones on a secured one)
	scripts/kafka/kafka.sh restart $(KAFKA_PORT)
	scripts/kafka/kafka.sh stop $(KAFKA_SECURE_PORT)
	BANK_TEST_KAFKA_BROKERS=127.0.0.1:$(KAFKA_PORT) BANK_TEST_KAFKA_SECURE_PORT=$(KAFKA_SECURE_PORT) $(GO) test -race -count=1 -p 1 ./... ; \
		rc=$$?; scripts/kafka/kafka.sh stop $(KAFKA_PORT); scripts/kafka/kafka.sh stop $(KAFKA_SECURE_PORT); exit $$rc

vulncheck: ## known vulnerabilities in the code and its modules (govulncheck; needs vuln.go.dev, which CI and this project's machines cannot reach)
	$(GO) run golang.org/x/vuln/cmd/govulncheck@v1.9.0 ./...

kafka-fetch: ## download the Apache Kafka jars (Maven Central) ahead of time
	scripts/kafka/kafka.sh fetch

clean:
	rm -rf bin .cache web/node_modules web/dist/graphiql
