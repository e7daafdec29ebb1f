// Command kindnet-lite is ray101's stand-in for kind's kindnetd, built only
// where kindnetd's source cannot be had (its module, sigs.k8s.io/kind/images/
// kindnetd, is not served by the Go module proxy scripts/offline-images
// reaches). It runs under kind's own kindnet DaemonSet manifest (hostNetwork,
// NET_ADMIN, /etc/cni/net.d mounted) and does the two things a kind cluster
// needs to schedule pods on several nodes:
//
//   - writes /etc/cni/net.d/10-kindnet.conflist for this node: ptp and
//     host-local over the node's spec.podCIDR, and portmap;
//   - routes every other node's podCIDR through that node's InternalIP.
//
// It does NOT enforce NetworkPolicies and does not masquerade traffic leaving
// the cluster, both of which kindnetd does: a cluster on this stand-in passes
// no NetworkPolicy check. scripts/offline-images says so when it builds it.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
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
	log.Printf("kindnet-lite on %s (no NetworkPolicy enforcement, no masquerading)", hostIP)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := sync(ctx, cs, hostIP); err != nil {
			log.Printf("sync: %v", err)
		}
		cancel()
		time.Sleep(10 * time.Second)
	}
}
