// Command kindnet-lite is ray101's stand-in for kind's kindnetd, built only
// where kindnetd's source cannot be had (its module, sigs.k8s.io/kind/images/
// kindnetd, is not served by the Go module proxy scripts/offline-images
// reaches). It runs under kind's own kindnet DaemonSet manifest (hostNetwork,
// NET_RAW and NET_ADMIN, /etc/cni/net.d mounted, RBAC to list and watch
// nodes, pods, namespaces and NetworkPolicies) and does three things:
//
//   - writes /etc/cni/net.d/10-kindnet.conflist for this node: ptp and
//     host-local over the node's spec.podCIDR, and portmap;
//   - routes every other node's podCIDR through that node's InternalIP;
//   - enforces NetworkPolicies with sigs.k8s.io/kube-network-policies, kind's
//     own NetworkPolicy agent, run as a library as kindnetd embeds it: the
//     first packet of each connection is queued (nfqueue) to this process,
//     which accepts or drops it by the policies that select its pods.
//
// The library queues packets with nftables' `queue` expression. A kernel
// built without it (CONFIG_NFT_QUEUE unset: the library's nftables sync then
// fails as a whole) gets the same queueing from the iptables NFQUEUE target
// (xt_NFQUEUE) instead: every new connection from or to POD_SUBNET goes to
// the same queue. Both are fail-open (bypass): while this process is not
// listening, packets pass.
//
// It does not masquerade traffic leaving the cluster, which kindnetd does.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const confPath = "/etc/cni/net.d/10-kindnet.conflist"

// conflist is the CNI configuration of a node whose pods get podCIDR.
func conflist(podCIDR string) string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "kindnet",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [{"dst": "0.0.0.0/0"}],
        "ranges": [[{"subnet": %q}]]
      },
      "mtu": 1500
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, podCIDR)
}

func internalIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// writeIfChanged writes content to path atomically when it differs.
func writeIfChanged(path, content string) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && string(old) == content {
		return false, nil
	}
	tmp := filepath.Join(filepath.Dir(path), ".kindnet-lite.tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}

func sync(ctx context.Context, cs kubernetes.Interface, hostIP string) error {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		ip := internalIP(n)
		if n.Spec.PodCIDR == "" || ip == "" {
			continue
		}
		if ip == hostIP {
			changed, err := writeIfChanged(confPath, conflist(n.Spec.PodCIDR))
			if err != nil {
				return err
			}
			if changed {
				log.Printf("wrote %s for %s (%s)", confPath, n.Name, n.Spec.PodCIDR)
			}
			continue
		}
		_, dst, err := net.ParseCIDR(n.Spec.PodCIDR)
		if err != nil {
			return err
		}
		route := &netlink.Route{Dst: dst, Gw: net.ParseIP(ip)}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("route %s via %s: %w", n.Spec.PodCIDR, ip, err)
		}
	}
	return nil
}

// nodeName: the name of the node whose InternalIP is hostIP (the
// NetworkPolicy controller selects this node's pods by it); the hostname,
// which kind makes the node's name, when the API does not say in a minute.
func nodeName(cs kubernetes.Interface, hostIP string) string {
	for i := 0; i < 12; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		cancel()
		if err == nil {
			for j := range nodes.Items {
				if internalIP(&nodes.Items[j]) == hostIP {
					return nodes.Items[j].Name
				}
			}
		}
		time.Sleep(5 * time.Second)
	}
	host, _ := os.Hostname()
	return strings.ToLower(host)
}

func main() {
	hostIP := os.Getenv("HOST_IP")
	if hostIP == "" {
		log.Fatal("HOST_IP is not set")
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		log.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Fatal(err)
	}
	// kind's manifest limits the container to 50Mi: the GC works harder as the
	// heap nears 40 MiB instead of the kernel killing it at 50.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(40 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	node := nodeName(cs, hostIP)
	log.Printf("kindnet-lite on %s (node %s): routes, CNI config, NetworkPolicies; no masquerading", hostIP, node)
	if err := startNetworkPolicies(ctx, cs, node); err != nil {
		log.Fatal(err)
	}
	if err := ensureQueueing(ctx, os.Getenv("POD_SUBNET"), 30*time.Second); err != nil {
		log.Fatal(err)
	}
	for {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := sync(sctx, cs, hostIP); err != nil {
			log.Printf("sync: %v", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			// The controller removes its nftables table; give it the time.
			time.Sleep(2 * time.Second)
			return
		case <-time.After(10 * time.Second):
		}
	}
}
