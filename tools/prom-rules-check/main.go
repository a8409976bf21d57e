// prom-rules-check validates Prometheus rule files as Prometheus itself loads them (rulefmt: the YAML shape, every
// PromQL expression, every annotation and label template) and prints, as JSON, each alert with the metric names its
// expression selects, so the repo's tests can check those names against the series the service exports
// (test/integration/deploy/prometheus-alerts.test.ts).
//
// Usage: prom-rules-check FILE...   (exit 1 with one line per error when a file does not load)
package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

type alert struct {
	File        string            `json:"file"`
	Group       string            `json:"group"`
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Metrics     []string          `json:"metrics"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: prom-rules-check FILE...")
		os.Exit(2)
	}
	p := parser.NewParser(parser.Options{})
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var alerts []alert
	failed := false
	for _, file := range os.Args[1:] {
		groups, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, p, logger)
		for _, err := range errs {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
		if len(errs) > 0 {
			continue
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				expr, err := p.ParseExpr(r.Expr)
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s: %s: %v\n", file, r.Alert, err)
					failed = true
					continue
				}
				alerts = append(alerts, alert{
					File: file, Group: g.Name, Alert: r.Alert, Expr: r.Expr, For: r.For.String(),
					Labels: r.Labels, Annotations: r.Annotations, Metrics: metricNames(expr),
				})
			}
		}
	}
	if failed {
		os.Exit(1)
	}
	out, _ := json.MarshalIndent(alerts, "", "  ")
	fmt.Println(string(out))
}

// metricNames lists the metric names an expression selects, sorted, once each.
func metricNames(expr parser.Expr) []string {
	seen := map[string]bool{}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok && vs.Name != "" {
			seen[vs.Name] = true
		}
		return nil
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
