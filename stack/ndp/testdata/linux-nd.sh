#!/usr/bin/env bash
# Records linux-nd.pcap, the source of the golden frames in ../golden_test.go
# and ../../mld/golden_test.go: three network namespaces on a bridge that
# queries MLDv2 (H: 52:54:00:12:34:56, the host whose frames we keep; R:
# radvd with linux-nd-radvd.conf, forwarding; N: the better first hop R
# redirects H to). Run as root: bash linux-nd.sh [out.pcap]
set -eux
dir=$(cd "$(dirname "$0")" && pwd)
out=$(realpath "${1:-linux-nd.pcap}")
tmp=$(mktemp -d)
for n in H R N; do ip netns del nd$n 2>/dev/null || true; done; ip link del ndgbr 2>/dev/null || true
ip netns add ndH; ip netns add ndR; ip netns add ndN
ip link add ndgbr type bridge mcast_snooping 1 mcast_querier 1 mcast_mld_version 2
ip link set ndgbr address 52:54:00:00:00:fe
for n in H R N; do
  ip link add b$n type veth peer name h$n
  ip link set h$n netns nd$n
  ip link set b$n master ndgbr
  ip link set b$n up
done
ip netns exec ndH ip link set hH address 52:54:00:12:34:56
ip netns exec ndR ip link set hR address 52:54:00:00:00:01
ip netns exec ndN ip link set hN address 52:54:00:00:00:02
ip netns exec ndR sysctl -qw net.ipv6.conf.all.forwarding=1
ip netns exec ndR ip link set hR up
ip netns exec ndN ip link set hN up
ip link set ndgbr up
sleep 3
tshark -q -i bH -w "$out" >/dev/null 2>&1 &
TS=$!
sleep 1
ip netns exec ndH ip link set hH up
sleep 2
ip netns exec ndR radvd -C "$dir"/linux-nd-radvd.conf -p "$tmp"/radvd.pid -u root -n &
RV=$!
sleep 4
ip netns exec ndH ip -6 addr show dev hH
ip netns exec ndH ip -6 route
ip netns exec ndH ping -6 -c1 -W1 fe80::5054:ff:fe00:1%hH
# Redirect: R routes 2001:db8:2::/64 via N, on the same link.
ip netns exec ndN ip -6 addr add 2001:db8:1::2/64 dev hN
ip netns exec ndR ip -6 addr add 2001:db8:1::1/64 dev hR
ip netns exec ndR ip -6 route add 2001:db8:2::/64 via fe80::5054:ff:fe00:2 dev hR
sleep 2
ip netns exec ndH ping -6 -c2 -W1 2001:db8:2::1 || true # N drops it; R's Redirect is what we want
sleep 30
kill $RV; sleep 1
kill $TS; wait $TS || true
ip netns del ndH; ip netns del ndR; ip netns del ndN; ip link del ndgbr
rm -rf "$tmp"
