package main

import (
	"strings"
	"testing"
)

func TestDigest(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"noise\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"run","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    x_test.go:9: needs a pty: none\n"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestB"}`,
		`{"Action":"run","Package":"p","Test":"TestC/sub"}`,
		`{"Action":"output","Package":"p","Test":"TestC/sub","Output":"    x_test.go:12: got 1, want 2\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestC/sub","Elapsed":0.5}`,
		`{"Action":"output","Package":"p","Output":"FAIL\tp\t0.6s\n"}`,
		`{"Action":"fail","Package":"p"}`,
		`# q`,
		`{"Action":"fail","Package":"q","FailedBuild":"q"}`,
	}, "\n")
	var out strings.Builder
	c, failed := digest(strings.NewReader(in), &out)
	if !failed || c.Passed != 1 || c.Failed != 1 || c.Skipped != 1 {
		t.Fatalf("got failed=%v %+v, want failed, 1 passed, 1 failed, 1 skipped", failed, c)
	}
	for _, want := range []string{"SKIP TestB (p): needs a pty: none", "--- FAIL: TestC/sub", "got 1, want 2", "FAIL\tp", "# q", "q: build failed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "noise") {
		t.Errorf("a passing test's output was printed:\n%s", out.String())
	}
}

func TestCountsFileRoundTrip(t *testing.T) {
	path := t.TempDir() + "/counts"
	want := counts{Passed: 3, Failed: 1, Skipped: 2, Skips: []string{"A (p): x", "B (q): y"}}
	if err := save(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := load(path)
	if err != nil || got.Passed != 3 || got.Failed != 1 || got.Skipped != 2 || len(got.Skips) != 2 || got.Skips[1] != "B (q): y" {
		t.Fatalf("load = %+v, %v; want %+v", got, err, want)
	}
}
