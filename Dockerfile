# One image for every part of the bank: `bank <command>`.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bank ./cmd/bank

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bank /bank
USER nonroot
ENTRYPOINT ["/bank"]
