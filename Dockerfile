# One image for every part of the bank: `bank <command>`.

# Browser assets (GraphiQL, React) from npm, embedded in the binary.
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN node build.mjs

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /web/dist ./web/dist
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bank ./cmd/bank

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bank /bank
USER 65532:65532
ENTRYPOINT ["/bank"]
