# Open Bank. `make run` starts the whole bank; `make test` runs every test.
GO        ?= go
KAFKA_PORT ?= 39092
FUZZTIME  ?= 10s

.PHONY: run build test check test-embedded test-kafka fuzz kafka-fetch clean

run: ## start the whole bank (embedded Kafka + Schema Registry, data in ./data)
	$(GO) run ./cmd/bank

build: ## build bin/bank
	$(GO) build -o bin/bank ./cmd/bank

test: check test-embedded fuzz test-kafka ## everything CI runs

check: ## formatting and vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-embedded: ## all tests, integration ones on the embedded broker (kfake)
	$(GO) test -race -count=1 ./...

fuzz: ## each fuzz target briefly
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./topology/
	$(GO) test -run '^$$' -fuzz '^FuzzValid$$' -fuzztime $(FUZZTIME) ./topology/iban/

test-kafka: ## all tests again, integration ones on a real Apache Kafka broker
	scripts/kafka/kafka.sh restart $(KAFKA_PORT)
	BANK_TEST_KAFKA_BROKERS=127.0.0.1:$(KAFKA_PORT) $(GO) test -race -count=1 -p 1 ./... ; \
		rc=$$?; scripts/kafka/kafka.sh stop $(KAFKA_PORT); exit $$rc

kafka-fetch: ## download the Apache Kafka jars (Maven Central) ahead of time
	scripts/kafka/kafka.sh fetch

clean:
	rm -rf bin .cache
