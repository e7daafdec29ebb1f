// Command runc-caps is ray101's runc wrapper for hosts whose capability
// bounding set lacks capabilities that a container runtime asks for.
//
// Docker 20.10 gives a --privileged container every capability it knows of,
// and runc refuses ("unable to apply caps: operation not permitted") when one
// of them is not in the bounding set of the process that starts it: on a VM
// whose bounding set lacks CAP_SYS_RESOURCE no privileged container (a kind
// node, kube-proxy inside one) starts. runc-caps removes, from the capability
// lists runc is about to apply, those the current bounding set lacks, then
// execs the real runc with the same arguments:
//
//   - on create and run: the OCI bundle's config.json (--bundle, default ".");
//   - on exec: the --process file, when one is given.
//
// On create and run, an oomScoreAdj below runc's own is raised to it where
// CAP_SYS_RESOURCE is missing (lowering it needs that capability; runc's init
// dies writing it). Every other command passes through untouched. The real runc is
// $RUNC_CAPS_REAL, else the first runc found in the usual places that is not
// this program. `runc-caps --runc-caps-missing` prints the capabilities the
// bounding set lacks (none: the wrapper is not needed) and exits.
//
// Built static (CGO_ENABLED=0) so one binary serves the host's dockerd and the
// containerd inside a kind node. Source of scripts/lib/runc.sh's installs.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// capNames maps capability names to their numbers (linux/capability.h).
var capNames = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
	"CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
	"CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
	"CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
	"CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
	"CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
	"CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
	"CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
	"CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
	"CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
	"CAP_CHECKPOINT_RESTORE": 40,
}

// capSets are the lists of an OCI process's "capabilities" object.
var capSets = []string{"bounding", "effective", "inheritable", "permitted", "ambient"}

// globalWithValue are runc's global options that take a value.
var globalWithValue = map[string]bool{
	"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true,
}

// boundingSet reads CapBnd from a /proc/<pid>/status file.
func boundingSet(statusPath string) (uint64, error) {
	f, err := os.Open(statusPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapBnd:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapBnd in %s", statusPath)
}

// allowed tells whether the capability name is in the bounding set. Names
// this table does not know are kept: runc decides about them.
func allowed(name string, bnd uint64) bool {
	n, ok := capNames[strings.ToUpper(name)]
	if !ok {
		return true
	}
	return bnd&(1<<n) != 0
}

// filterCaps returns caps without those outside bnd, and the removed names.
func filterCaps(caps []string, bnd uint64) (kept, removed []string) {
	kept = []string{}
	for _, c := range caps {
		if allowed(c, bnd) {
			kept = append(kept, c)
		} else {
			removed = append(removed, c)
		}
	}
	return kept, removed
}

// filterProcess edits an OCI process object's capability lists in place and
// returns the names it removed.
func filterProcess(process map[string]any, bnd uint64) ([]string, error) {
	capsObj, ok := process["capabilities"].(map[string]any)
	if !ok {
		return nil, nil
	}
	var removedAll []string
	seen := map[string]bool{}
	for _, set := range capSets {
		raw, ok := capsObj[set]
		if !ok || raw == nil {
			continue
		}
		list, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("capabilities.%s is not a list", set)
		}
		names := make([]string, 0, len(list))
		for _, v := range list {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("capabilities.%s holds a non-string", set)
			}
			names = append(names, s)
		}
		kept, removed := filterCaps(names, bnd)
		for _, r := range removed {
			if !seen[r] {
				seen[r] = true
				removedAll = append(removedAll, r)
			}
		}
		out := make([]any, len(kept))
		for i, k := range kept {
			out[i] = k
		}
		capsObj[set] = out
	}
	return removedAll, nil
}

// rewriteFile filters the capabilities of the JSON file at path: an OCI
// config (process under "process") or, for exec, a bare process object.
// The file is written back only when something was removed.
func rewriteFile(path string, bnd uint64, bare bool) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep uids, limits and the like exactly as written
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	process := doc
	if !bare {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil, nil
		}
		process = p
	}
	removed, err := filterProcess(process, bnd)
	if err != nil {
		return nil, err
	}
	clamped := false
	if !bare {
		if clamped, err = clampOOMScoreAdj(process, bnd, oomFloor()); err != nil {
			return nil, err
		}
		if clamped {
			removed = append(removed, "oomScoreAdj<"+strconv.FormatInt(oomFloor(), 10))
		}
	}
	if len(removed) == 0 {
		return nil, nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	tmp := path + ".runc-caps"
	if err := os.WriteFile(tmp, out, info.Mode().Perm()); err != nil {
		return nil, err
	}
	return removed, os.Rename(tmp, path)
}

// parsed is what runc-caps needs from runc's command line.
type parsed struct {
	command string // create, run, exec, ... ("" when none)
	bundle  string // create/run: the bundle folder
	process string // exec: the --process file ("" when none)
}

// optionValue reads "--name value", "--name=value" or "-x value" at args[i];
// it returns the value and how many arguments it used (0: not this option).
func optionValue(args []string, i int, names ...string) (string, int) {
	for _, n := range names {
		if args[i] == n && i+1 < len(args) {
			return args[i+1], 2
		}
		if v, ok := strings.CutPrefix(args[i], n+"="); ok {
			return v, 1
		}
	}
	return "", 0
}

// parseArgs finds the runc command and its bundle or process file.
func parseArgs(args []string) parsed {
	p := parsed{bundle: "."}
	i := 0
	for i < len(args) {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			break
		}
		name, _, hasEq := strings.Cut(a, "=")
		if globalWithValue[name] && !hasEq {
			i += 2
		} else {
			i++
		}
	}
	if i >= len(args) {
		return p
	}
	p.command = args[i]
	for j := i + 1; j < len(args); {
		if args[j] == "--" {
			break
		}
		switch p.command {
		case "create", "run":
			if v, n := optionValue(args, j, "--bundle", "-b"); n > 0 {
				p.bundle = v
				j += n
				continue
			}
		case "exec":
			if v, n := optionValue(args, j, "--process", "-p"); n > 0 {
				p.process = v
				j += n
				continue
			}
		}
		j++
	}
	return p
}

// realRunc is the runc to exec: $RUNC_CAPS_REAL, else the first runc in the
// usual places that is not this program.
func realRunc() (string, error) {
	if p := os.Getenv("RUNC_CAPS_REAL"); p != "" {
		return p, nil
	}
	self, _ := os.Executable()
	self, _ = filepath.EvalSymlinks(self)
	for _, c := range []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc", "/sbin/runc", "/bin/runc"} {
		r, err := filepath.EvalSymlinks(c)
		if err != nil || r == self {
			continue
		}
		if st, err := os.Stat(r); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return "", fmt.Errorf("no real runc found (set RUNC_CAPS_REAL)")
}

// missing lists the known capabilities, up to the kernel's last, that bnd lacks.
func missing(bnd uint64, last uint) []string {
	var out []string
	for name, n := range capNames {
		if n <= last && bnd&(1<<n) == 0 {
			out = append(out, name)
		}
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func lastCap() uint {
	n := readProcInt("/proc/sys/kernel/cap_last_cap", 40)
	if n < 0 {
		return 40
	}
	return uint(n)
}

// readProcInt is the integer a /proc file holds, or fallback when it cannot be read.
func readProcInt(path string, fallback int64) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return fallback
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return fallback
	}
	return v
}

func logf(format string, a ...any) {
	if path := os.Getenv("RUNC_CAPS_LOG"); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintf(f, format+"\n", a...)
			f.Close()
		}
	}
}

func main() {
	args := os.Args[1:]
	bnd, err := boundingSet("/proc/self/status")
	if len(args) == 1 && args[0] == "--runc-caps-missing" {
		if err != nil {
			fmt.Fprintln(os.Stderr, "runc-caps:", err)
			os.Exit(1)
		}
		for _, m := range missing(bnd, lastCap()) {
			fmt.Println(m)
		}
		return
	}
	if err == nil {
		p := parseArgs(args)
		var removed []string
		var rerr error
		switch {
		case p.command == "create" || p.command == "run":
			removed, rerr = rewriteFile(filepath.Join(p.bundle, "config.json"), bnd, false)
		case p.command == "exec" && p.process != "":
			removed, rerr = rewriteFile(p.process, bnd, true)
		}
		if rerr != nil {
			// Leave the decision to runc: it reports a bad bundle better.
			logf("runc-caps: %s: %v", p.command, rerr)
		} else if len(removed) > 0 {
			logf("runc-caps: %s: removed %s", p.command, strings.Join(removed, ","))
		}
	}
	real, err := realRunc()
	if err != nil {
		fmt.Fprintln(os.Stderr, "runc-caps:", err)
		os.Exit(127)
	}
	if err := syscall.Exec(real, append([]string{real}, args...), os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "runc-caps: exec %s: %v\n", real, err)
		os.Exit(127)
	}
}
