// geoip_http: the benchmark's Go peer for geoipmq's HTTP face. A net/http server that
// answers GET /json/<ip> from a MaxMind DB with the same envelope as geoipmq:
//
//	200 {"ip":"<ip>","network":"<cidr>","record":{...}}
//	404 {"ip":"<ip>","network":null,"record":null}
//	400 {"error":"invalid IP address \"<ip>\""}
//
// The record is decoded by github.com/oschwald/maxminddb-golang (the reader inside
// github.com/oschwald/geoip2-golang) into map[string]any, so it carries every field of the
// database, as geoipmq's does; encoding/json sorts map keys, geoipmq keeps the database's
// order. Nothing is cached: every request decodes its record.
//
// Built by scripts/bench.ts from Debian's packages, offline, in GOPATH mode:
//
//	apt-get install golang-go golang-github-oschwald-geoip2-golang-dev
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o geoip_http geoip_http.go
//	./geoip_http 127.0.0.1:0 GeoLite2-City.mmdb
//
// It prints "ready on http://HOST:PORT (...)" on stderr once it listens.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"

	"github.com/oschwald/maxminddb-golang"
)

type answer struct {
	IP      string          `json:"ip"`
	Network *string         `json:"network"`
	Record  *map[string]any `json:"record"`
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	body, err := json.Marshal(value)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: geoip_http HOST:PORT FILE.mmdb")
		os.Exit(2)
	}
	db, err := maxminddb.Open(os.Args[2])
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot open %q: %v\n", os.Args[2], err)
		os.Exit(1)
	}
	defer db.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("/json/", func(w http.ResponseWriter, r *http.Request) {
		text := strings.TrimPrefix(r.URL.Path, "/json/")
		ip := net.ParseIP(text)
		if ip == nil || strings.Contains(text, "%") {
			writeJSON(w, http.StatusBadRequest, map[string]string{
				"error": fmt.Sprintf("invalid IP address %q", text),
			})
			return
		}
		var record map[string]any
		network, ok, err := db.LookupNetwork(ip, &record)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{
				"error": fmt.Sprintf("database error for %q: %v", text, err),
			})
			return
		}
		if !ok {
			writeJSON(w, http.StatusNotFound, answer{IP: text})
			return
		}
		cidr := network.String()
		writeJSON(w, http.StatusOK, answer{IP: text, Network: &cidr, Record: &record})
	})

	listener, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot listen on %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "ready on http://%s (%s, GOMAXPROCS %d, %s built %d)\n",
		listener.Addr(), runtime.Version(), runtime.GOMAXPROCS(0),
		db.Metadata.DatabaseType, db.Metadata.BuildEpoch)
	if err := http.Serve(listener, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
