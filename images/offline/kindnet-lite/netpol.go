package main

// NetworkPolicy enforcement: sigs.k8s.io/kube-network-policies' controller,
// configured as kindnetd configures it, plus the iptables queueing a kernel
// without nftables' `queue` expression needs (see main.go's comment).

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

const (
	// nfqueueID is the queue the controller listens on (upstream's
	// install.yaml uses 98; kindnetd 100). Only this process uses it.
	nfqueueID = 100
	// nftTableName is the controller's nftables table (kindnetd's name).
	nftTableName = "kindnet-network-policies"
	// iptChain is the mangle chain of the iptables queueing.
	iptChain = "KINDNET-LITE-NETPOL"
)

// startNetworkPolicies runs the controller until ctx ends. nodeName is this
// node's name (the controller's nftables set holds its local pods only).
func startNetworkPolicies(ctx context.Context, cs kubernetes.Interface, nodeName string) error {
	factory := informers.NewSharedInformerFactory(cs, 0)
	cfg := networkpolicy.Config{
		FailOpen:            true,
		QueueID:             nfqueueID,
		NodeName:            nodeName,
		NFTableName:         nftTableName,
		NetfilterBug1766Fix: true,
	}
	ctrl, err := networkpolicy.NewController(cs,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil, // no (Baseline)AdminNetworkPolicy: their CRDs are not installed
		cfg)
	if err != nil {
		return fmt.Errorf("network policy controller: %w", err)
	}
	go func() {
		if err := ctrl.Run(ctx); err != nil {
			log.Printf("network policy controller exited: %v", err)
		}
	}()
	factory.Start(ctx.Done())
	return nil
}

// nftQueueSupported: whether the kernel takes a rule with nftables' `queue`
// expression (a regular chain in a throwaway table: no packet sees it).
func nftQueueSupported() (bool, error) {
	conn, err := nftables.New()
	if err != nil {
		return false, err
	}
	table := &nftables.Table{Name: "kindnet-lite-probe", Family: nftables.TableFamilyINet}
	conn.AddTable(table)
	conn.DelTable(table)
	conn.AddTable(table)
	chain := conn.AddChain(&nftables.Chain{Name: "probe", Table: table})
	conn.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{
		&expr.Queue{Num: nfqueueID, Flag: expr.QueueFlagBypass},
	}})
	probeErr := conn.Flush()
	conn.DelTable(table)
	_ = conn.Flush() // the table is absent when the probe failed
	if probeErr != nil {
		return false, nil
	}
	return true, nil
}

// iptablesFor: the iptables command of a family, nft-based first (Debian's
// default), legacy when that one cannot run.
func iptablesFor(v6 bool) (string, error) {
	names := []string{"iptables-nft", "iptables-legacy", "iptables"}
	if v6 {
		names = []string{"ip6tables-nft", "ip6tables-legacy", "ip6tables"}
	}
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			if exec.Command(path, "-t", "mangle", "-S", "POSTROUTING").Run() == nil {
				return path, nil
			}
		}
	}
	return "", fmt.Errorf("no working %s", names[len(names)-1])
}

func ipt(bin string, args ...string) error {
	out, err := exec.Command(bin, append([]string{"-w", "5", "-t", "mangle"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// iptablesQueueing writes, when any of it is missing, the mangle chain that queues the first packet
// of each connection from or to subnet, as the controller's nftables
// `postrouting` chain does (after DNAT, before SNAT; root's own traffic and
// established connections pass), and hooks it into POSTROUTING once.
func iptablesQueueing(subnet *net.IPNet) error {
	bin, err := iptablesFor(subnet.IP.To4() == nil)
	if err != nil {
		return err
	}
	if ipt(bin, "-S", iptChain) != nil {
		if err := ipt(bin, "-N", iptChain); err != nil {
			return err
		}
	}
	queue := []string{"-j", "NFQUEUE", "--queue-num", strconv.Itoa(nfqueueID), "--queue-bypass"}
	rules := [][]string{
		{"-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"},
		{"-m", "owner", "--uid-owner", "0", "-j", "RETURN"},
		append([]string{"-s", subnet.String()}, queue...),
		append([]string{"-d", subnet.String()}, queue...),
	}
	complete := ipt(bin, "-C", "POSTROUTING", "-j", iptChain) == nil
	for _, r := range rules {
		complete = complete && ipt(bin, append([]string{"-C", iptChain}, r...)...) == nil
	}
	if complete {
		return nil
	}
	log.Printf("network policies: writing mangle %s (%s)", iptChain, subnet)
	if err := ipt(bin, "-F", iptChain); err != nil {
		return err
	}
	for _, r := range rules {
		if err := ipt(bin, append([]string{"-A", iptChain}, r...)...); err != nil {
			return err
		}
	}
	if ipt(bin, "-C", "POSTROUTING", "-j", iptChain) != nil {
		return ipt(bin, "-A", "POSTROUTING", "-j", iptChain)
	}
	return nil
}

// ensureQueueing keeps the iptables queueing in place where the kernel needs
// it: checked at start, then every interval (kube-proxy or a restart of the
// node's tables could remove it).
func ensureQueueing(ctx context.Context, podSubnets string, interval time.Duration) error {
	ok, err := nftQueueSupported()
	if err != nil {
		return fmt.Errorf("probing nftables: %w", err)
	}
	if ok {
		log.Printf("network policies: nftables queueing (table %s, queue %d)", nftTableName, nfqueueID)
		return nil
	}
	var subnets []*net.IPNet
	for _, s := range strings.Split(podSubnets, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return fmt.Errorf("POD_SUBNET %q: %w", podSubnets, err)
		}
		subnets = append(subnets, n)
	}
	if len(subnets) == 0 {
		return errors.New("the kernel has no nftables queue expression and POD_SUBNET is not set: cannot queue pod traffic")
	}
	log.Printf("network policies: this kernel has no nftables `queue` expression (CONFIG_NFT_QUEUE); "+
		"queueing %s through iptables NFQUEUE (mangle %s, queue %d); the controller's nftables sync errors are expected",
		podSubnets, iptChain, nfqueueID)
	apply := func() {
		for _, n := range subnets {
			if err := iptablesQueueing(n); err != nil {
				log.Printf("network policies: %v", err)
			}
		}
	}
	apply()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				apply()
			}
		}
	}()
	return nil
}
