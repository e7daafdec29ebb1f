package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A bounding set like the VM's: every capability up to 40 but CAP_SYS_RESOURCE (24).
const vmBounding = uint64(0x1fffeffffff)

func TestBoundingSet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "status")
	content := "Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := boundingSet(path)
	if err != nil || got != vmBounding {
		t.Fatalf("boundingSet = %x, %v; want %x", got, err, vmBounding)
	}
	if _, err := boundingSet("/proc/self/status"); err != nil {
		t.Fatalf("this process's status: %v", err)
	}
}

func TestFilterCaps(t *testing.T) {
	kept, removed := filterCaps([]string{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN", "CAP_FUTURE_THING"}, vmBounding)
	if want := []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_FUTURE_THING"}; !reflect.DeepEqual(kept, want) {
		t.Errorf("kept = %v, want %v", kept, want)
	}
	if want := []string{"CAP_SYS_RESOURCE"}; !reflect.DeepEqual(removed, want) {
		t.Errorf("removed = %v, want %v", removed, want)
	}
	// A full bounding set removes nothing.
	if _, removed := filterCaps([]string{"CAP_SYS_RESOURCE"}, 1<<41-1); len(removed) != 0 {
		t.Errorf("full set removed %v", removed)
	}
	// Lower case names (as some configs write them) are matched too.
	if _, removed := filterCaps([]string{"cap_sys_resource"}, vmBounding); len(removed) != 1 {
		t.Errorf("lower case not matched")
	}
}

func TestMissing(t *testing.T) {
	if got := missing(vmBounding, 40); !reflect.DeepEqual(got, []string{"CAP_SYS_RESOURCE"}) {
		t.Errorf("missing = %v", got)
	}
	// Capabilities above the kernel's last are not missing.
	if got := missing(1<<38-1, 37); len(got) != 0 {
		t.Errorf("missing above cap_last_cap = %v", got)
	}
}

const bundleConfig = `{
  "ociVersion": "1.0.2",
  "process": {
    "user": {"uid": 0, "gid": 0},
    "args": ["/sbin/init"],
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1048576}],
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"],
      "effective": ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"],
      "permitted": ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"],
      "inheritable": ["CAP_CHOWN", "CAP_SYS_RESOURCE"]
    }
  },
  "root": {"path": "rootfs"}
}`

func TestRewriteBundleConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(bundleConfig), 0o640); err != nil {
		t.Fatal(err)
	}
	removed, err := rewriteFile(path, vmBounding, false)
	if err != nil || !reflect.DeepEqual(removed, []string{"CAP_SYS_RESOURCE"}) {
		t.Fatalf("rewriteFile = %v, %v", removed, err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "CAP_SYS_RESOURCE") {
		t.Errorf("CAP_SYS_RESOURCE still in %s", data)
	}
	// Large numbers survive exactly (no float64 round trip).
	if !strings.Contains(string(data), "18446744073709551615") {
		t.Errorf("rlimit changed: %s", data)
	}
	var doc struct {
		Process struct {
			Capabilities map[string][]string `json:"capabilities"`
		} `json:"process"`
		Root map[string]string `json:"root"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Process.Capabilities["bounding"]; !reflect.DeepEqual(got, []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}) {
		t.Errorf("bounding = %v", got)
	}
	if _, ok := doc.Process.Capabilities["ambient"]; ok {
		t.Errorf("an absent set was added")
	}
	if doc.Root["path"] != "rootfs" {
		t.Errorf("root lost: %v", doc.Root)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode changed to %v", st.Mode().Perm())
	}
	// Nothing left to remove: the file is not rewritten.
	before, _ := os.Stat(path)
	if removed, err := rewriteFile(path, vmBounding, false); err != nil || len(removed) != 0 {
		t.Errorf("second pass = %v, %v", removed, err)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("unchanged file rewritten")
	}
}

func TestRewriteExecProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "process.json")
	body := `{"args":["sh"],"capabilities":{"bounding":["CAP_SYS_RESOURCE","CAP_KILL"],"effective":["CAP_KILL"]}}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := rewriteFile(path, vmBounding, true)
	if err != nil || len(removed) != 1 {
		t.Fatalf("rewriteFile = %v, %v", removed, err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "CAP_SYS_RESOURCE") || !strings.Contains(string(data), "CAP_KILL") {
		t.Errorf("process = %s", data)
	}
}

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args []string
		want parsed
	}{
		{ // as dockerd's containerd-shim calls it
			[]string{"--root", "/var/run/docker/runtime-runc/moby", "--log", "/run/x/log.json", "--log-format", "json",
				"create", "--bundle", "/run/b", "--pid-file", "/run/b/init.pid", "abc"},
			parsed{command: "create", bundle: "/run/b"},
		},
		{
			[]string{"--systemd-cgroup", "--root=/run/runc", "run", "-b", "/x", "id"},
			parsed{command: "run", bundle: "/x"},
		},
		{
			[]string{"create", "id"},
			parsed{command: "create", bundle: "."},
		},
		{
			[]string{"--root", "/r", "exec", "--process", "/tmp/p.json", "--detach", "id"},
			parsed{command: "exec", bundle: ".", process: "/tmp/p.json"},
		},
		{
			[]string{"exec", "-p=/tmp/q.json", "id"},
			parsed{command: "exec", bundle: ".", process: "/tmp/q.json"},
		},
		{
			[]string{"--root", "/r", "delete", "--force", "id"},
			parsed{command: "delete", bundle: "."},
		},
		{
			[]string{"--version"},
			parsed{bundle: "."},
		},
	}
	for _, c := range cases {
		if got := parseArgs(c.args); got != c.want {
			t.Errorf("parseArgs(%q) = %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestClampOOMScoreAdj(t *testing.T) {
	oomFloor = func() int64 { return 0 }
	defer func() { oomFloor = currentOOMScoreAdj }()
	path := filepath.Join(t.TempDir(), "config.json")
	body := `{"process":{"oomScoreAdj":-998,"capabilities":{"bounding":["CAP_KILL"]}}}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := rewriteFile(path, vmBounding, false)
	if err != nil || !reflect.DeepEqual(removed, []string{"oomScoreAdj<0"}) {
		t.Fatalf("rewriteFile = %v, %v", removed, err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"oomScoreAdj":0`) {
		t.Errorf("not clamped: %s", data)
	}
	// With CAP_SYS_RESOURCE in the bounding set, a low score stays.
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if removed, err := rewriteFile(path, 1<<41-1, false); err != nil || len(removed) != 0 {
		t.Errorf("full set changed %v, %v", removed, err)
	}
	// A score at or above the floor stays.
	process := map[string]any{"oomScoreAdj": json.Number("500")}
	if changed, _ := clampOOMScoreAdj(process, vmBounding, 0); changed {
		t.Errorf("500 clamped")
	}
}

func TestReadProcIntFallsBackWhenUnreadable(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte(" -17\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("forty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int64{good: -17, bad: 9, filepath.Join(dir, "none"): 9} {
		if got := readProcInt(path, 9); got != want {
			t.Errorf("readProcInt(%s) = %d, want %d", filepath.Base(path), got, want)
		}
	}
}
