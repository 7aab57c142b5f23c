package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// Every golden JSON document of testdata/script/json_golden.txtar is an
// object that opens with "version" and "type", and holds no null: an empty
// list is [], an empty map {}.
func TestGoldenJSONShape(t *testing.T) {
	a, err := txtar.ParseFile("../../testdata/script/json_golden.txtar")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range a.Files {
		if !strings.HasPrefix(f.Name, "golden/") {
			continue
		}
		n++
		var head struct {
			Version *int    `json:"version"`
			Type    *string `json:"type"`
		}
		if err := json.Unmarshal(f.Data, &head); err != nil || head.Version == nil || *head.Version != 1 || head.Type == nil || *head.Type == "" {
			t.Errorf("%s: not an object with version 1 and a type: %v", f.Name, err)
		}
		if !strings.HasPrefix(string(f.Data), "{\n  \"version\": 1,\n  \"type\": ") {
			t.Errorf("%s: version and type are not its first fields", f.Name)
		}
		var v any
		if err := json.Unmarshal(f.Data, &v); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if path := findNull(v, "$"); path != "" {
			t.Errorf("%s: null at %s", f.Name, path)
		}
	}
	if n < 15 {
		t.Errorf("%d golden documents, want one per command that prints JSON (15)", n)
	}
}

func findNull(v any, path string) string {
	switch x := v.(type) {
	case nil:
		return path
	case map[string]any:
		for k, e := range x {
			if p := findNull(e, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for _, e := range x {
			if p := findNull(e, path+"[]"); p != "" {
				return p
			}
		}
	}
	return ""
}
