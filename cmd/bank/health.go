package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runHealth is a container's health check (the image has no shell or
// curl): it exits 0 when the URL answers 200 within 5 s.
func runHealth(ctx context.Context, args []string, _ func(string) string, _, stderr io.Writer) error {
	url := "http://127.0.0.1:8888/readyz"
	if len(args) > 0 {
		url = args[0]
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", url, res.Status, body)
	}
	return nil
}
