package main

// The oom_score_adj half of runc-caps: where the bounding set lacks
// CAP_SYS_RESOURCE, an OCI config may not ask for a score below runc's own.

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// capSysResource is CAP_SYS_RESOURCE's number: without it no process may lower
// an oom_score_adj below its own.
const capSysResource = 24

// clampOOMScoreAdj raises an OCI config's process.oomScoreAdj to floor when it
// is lower and the bounding set lacks CAP_SYS_RESOURCE: runc's init would
// fail to write it ("can't get final child's PID from pipe: EOF"). This is
// containerd's restrict_oom_score_adj, for every caller. Reports whether it
// changed the value.
func clampOOMScoreAdj(process map[string]any, bnd uint64, floor int64) (bool, error) {
	if bnd&(1<<capSysResource) != 0 {
		return false, nil
	}
	raw, ok := process["oomScoreAdj"]
	if !ok || raw == nil {
		return false, nil
	}
	n, ok := raw.(json.Number)
	if !ok {
		return false, fmt.Errorf("process.oomScoreAdj is not a number")
	}
	v, err := n.Int64()
	if err != nil {
		return false, err
	}
	if v >= floor {
		return false, nil
	}
	process["oomScoreAdj"] = json.Number(strconv.FormatInt(floor, 10))
	return true, nil
}

// currentOOMScoreAdj is this process's oom_score_adj (0 when unreadable).
func currentOOMScoreAdj() int64 {
	return readProcInt("/proc/self/oom_score_adj", 0)
}

// oomFloor is the oom_score_adj floor rewriteFile applies (a variable for tests).
var oomFloor = currentOOMScoreAdj
