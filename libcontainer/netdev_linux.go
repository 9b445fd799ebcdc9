package libcontainer

// linux.netDevices, on the parent's side of `create`: each named host
// network device moves into the container's network namespace, renamed as
// configured, keeps its permanent addresses of global scope and is set up.
// As the spec requires, the runtime never moves a device back: when the
// namespace goes away the kernel returns physical devices to the host's
// initial namespace and destroys virtual ones (veth, macvlan, ifb ...).
//
// Raw rtnetlink (golang.org/x/sys/unix), one socket in the runtime's network
// namespace and one opened inside the container's:
//
//	socket     request                                   what for
//	---------  ----------------------------------------  ---------------------------------
//	runtime    RTM_GETLINK  IFLA_IFNAME                  the device's index
//	runtime    RTM_GETADDR  dump                         its addresses, to re-add later
//	container  RTM_GETLINK  IFLA_IFNAME (new name)       must fail (ENODEV): the name is free
//	runtime    RTM_NEWLINK  index, IFLA_NET_NS_FD,       move, then rename: "%d" lets the
//	                        IFLA_IFNAME (new name)       kernel number it
//	container  RTM_GETLINK  IFLA_IFNAME, or the index    find it there
//	container  RTM_NEWLINK  IFF_UP                       set it up
//	container  RTM_NEWADDR  each kept address            restore its addresses

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// moveNetDevices moves linux.netDevices into the network namespace of the
// container's init, pid.
func moveNetDevices(pid int, devs map[string]specs.LinuxNetDevice) error {
	if len(devs) == 0 {
		return nil
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("open container init: %w", err)
	}
	defer unix.Close(pidfd)
	host, err := newRtnl()
	if err != nil {
		return err
	}
	defer host.close()
	ctr, nsfd, err := rtnlInNetns(pidfd)
	if err != nil {
		return err
	}
	defer ctr.close()
	defer nsfd.Close()
	names := make([]string, 0, len(devs))
	for n := range devs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		to := devs[n].Name
		if to == "" {
			to = n
		}
		if err := moveNetDevice(host, ctr, int(nsfd.Fd()), n, to); err != nil {
			return fmt.Errorf("network device %s: %w", n, err)
		}
	}
	return nil
}

func moveNetDevice(host, ctr *rtnl, nsfd int, name, to string) error {
	index, _, err := host.getLink(0, name)
	if err != nil {
		return fmt.Errorf("find it on the host: %w", err)
	}
	addrs, err := host.permanentAddrs(index)
	if err != nil {
		return fmt.Errorf("list its addresses: %w", err)
	}
	// The kernel moves the device under its host name, then renames it:
	// a taken name would fail the rename only after the move. So look
	// first (a "%d" template always finds a free number).
	if !strings.Contains(to, "%d") {
		if _, _, err := ctr.getLink(0, to); err == nil {
			return fmt.Errorf("move it into the container as %s: %w", to, unix.EEXIST)
		} else if !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("look for %s in the container: %w", to, err)
		}
	}
	move := slices.Concat(ifInfomsg(index, 0, 0),
		rtAttr(unix.IFLA_NET_NS_FD, binary.NativeEndian.AppendUint32(nil, uint32(nsfd))),
		rtAttr(unix.IFLA_IFNAME, append([]byte(to), 0)))
	if _, err := host.request(unix.RTM_NEWLINK, 0, move); err != nil {
		return fmt.Errorf("move it into the container as %s: %w", to, err)
	}
	newIndex, err := ctr.findMoved(index, to)
	if err != nil {
		return err
	}
	if _, err := ctr.request(unix.RTM_NEWLINK, 0, ifInfomsg(newIndex, unix.IFF_UP, unix.IFF_UP)); err != nil {
		return fmt.Errorf("set it up in the container: %w", err)
	}
	for _, a := range addrs {
		binary.NativeEndian.PutUint32(a[4:8], uint32(newIndex)) // ifaddrmsg.ifa_index
		if _, err := ctr.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, a); err != nil {
			return fmt.Errorf("restore an address in the container: %w", err)
		}
	}
	return nil
}

// findMoved returns the index of the device moved as to: by name, or for a
// "%d" template by its old index (kept unless the namespace already used
// it), checked against the template.
func (r *rtnl) findMoved(oldIndex int32, to string) (int32, error) {
	if !strings.Contains(to, "%d") {
		index, _, err := r.getLink(0, to)
		if err != nil {
			return 0, fmt.Errorf("find it in the container as %s: %w", to, err)
		}
		return index, nil
	}
	index, name, err := r.getLink(oldIndex, "")
	if err == nil && !matchesTemplate(name, to) {
		err = fmt.Errorf("index %d is now %q", oldIndex, name)
	}
	if err != nil {
		return 0, fmt.Errorf("find it in the container as %s: %w", to, err)
	}
	return index, nil
}

// matchesTemplate reports whether name is what the kernel makes of a name
// template holding "%d".
func matchesTemplate(name, template string) bool {
	prefix, suffix, _ := strings.Cut(template, "%d")
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return false
	}
	digits, ok := strings.CutSuffix(rest, suffix)
	if !ok || digits == "" {
		return false
	}
	_, err := strconv.ParseUint(digits, 10, 32)
	return err == nil
}

// rtnl is a NETLINK_ROUTE socket of the network namespace it was opened in.
type rtnl struct {
	fd  int
	seq uint32
}

func newRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind rtnetlink socket: %w", err)
	}
	// Errors then come with the kernel's explanation, when it has one.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	return &rtnl{fd: fd}, nil
}

func (r *rtnl) close() { unix.Close(r.fd) }

// rtnlInNetns opens an rtnetlink socket in the network namespace of the
// process behind pidfd, and a file of that namespace. A thread of its own
// enters the namespace; if it cannot come back it is never unlocked, so the
// Go runtime ends it with its goroutine instead of reusing it.
func rtnlInNetns(pidfd int) (*rtnl, *os.File, error) {
	type result struct {
		r   *rtnl
		ns  *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("open own network namespace: %w", err)}
			return
		}
		defer own.Close()
		if err := unix.Setns(pidfd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter the container's network namespace: %w", err)}
			return
		}
		var res result
		if res.r, res.err = newRtnl(); res.err == nil {
			if res.ns, res.err = os.Open("/proc/thread-self/ns/net"); res.err != nil {
				res.r.close()
			}
		}
		if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
			if res.err == nil {
				res.r.close()
				res.ns.Close()
			}
			done <- result{err: fmt.Errorf("return from the container's network namespace: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		done <- res
	}()
	res := <-done
	return res.r, res.ns, res.err
}

// request sends one request and returns the replies' bodies (after their
// netlink header), until the kernel's acknowledgement or the end of a dump.
func (r *rtnl) request(typ, flags uint16, body []byte) ([][]byte, error) {
	r.seq++
	// A dump ends with NLMSG_DONE; anything else is acknowledged. (Not a
	// plain flags&NLM_F_DUMP test: NLM_F_EXCL shares a bit with it.)
	if flags&unix.NLM_F_DUMP != unix.NLM_F_DUMP {
		flags |= unix.NLM_F_ACK
	}
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	*(*unix.NlMsghdr)(unsafe.Pointer(&msg[0])) = unix.NlMsghdr{
		Len: uint32(unix.NLMSG_HDRLEN + len(body)), Type: typ, Flags: flags | unix.NLM_F_REQUEST, Seq: r.seq,
	}
	msg = append(msg, body...)
	if err := unix.Sendto(r.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("send rtnetlink request: %w", err)
	}
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(r.fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read rtnetlink reply: %w", err)
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			h := *(*unix.NlMsghdr)(unsafe.Pointer(&b[0]))
			if h.Len < unix.NLMSG_HDRLEN || int(h.Len) > len(b) {
				return nil, errors.New("read rtnetlink reply: malformed message")
			}
			data := b[unix.NLMSG_HDRLEN:h.Len]
			b = b[min(nlAlign(int(h.Len)), len(b)):]
			if h.Seq != r.seq {
				continue
			}
			switch h.Type {
			case unix.NLMSG_ERROR, unix.NLMSG_DONE:
				if len(data) < 4 {
					return out, nil
				}
				if errno := int32(binary.NativeEndian.Uint32(data)); errno < 0 {
					return nil, nlError(unix.Errno(-errno), h, data)
				}
				return out, nil
			default:
				out = append(out, slices.Clone(data))
			}
		}
	}
}

// nlError adds the kernel's extended acknowledgement message to errno.
func nlError(errno unix.Errno, h unix.NlMsghdr, data []byte) error {
	if h.Flags&unix.NLM_F_ACK_TLVS == 0 || len(data) < unix.SizeofNlMsgerr {
		return errno
	}
	off := unix.SizeofNlMsgerr // int error + the request's header
	if h.Flags&unix.NLM_F_CAPPED == 0 {
		req := *(*unix.NlMsghdr)(unsafe.Pointer(&data[4]))
		off = 4 + nlAlign(int(req.Len))
	}
	if off > len(data) {
		return errno
	}
	for typ, v := range rtAttrs(data[off:]) {
		if typ == unix.NLMSGERR_ATTR_MSG {
			return fmt.Errorf("%w (%s)", errno, strings.TrimRight(string(v), "\x00"))
		}
	}
	return errno
}

// getLink looks a device up by index, or by name with index 0, and returns
// its index and name.
func (r *rtnl) getLink(index int32, name string) (int32, string, error) {
	body := ifInfomsg(index, 0, 0)
	if name != "" {
		body = append(body, rtAttr(unix.IFLA_IFNAME, append([]byte(name), 0))...)
	}
	replies, err := r.request(unix.RTM_GETLINK, 0, body)
	if err != nil {
		return 0, "", err
	}
	for _, rep := range replies {
		if len(rep) < unix.SizeofIfInfomsg {
			continue
		}
		got := int32(binary.NativeEndian.Uint32(rep[4:8]))
		for typ, v := range rtAttrs(rep[unix.SizeofIfInfomsg:]) {
			if typ == unix.IFLA_IFNAME {
				return got, strings.TrimRight(string(v), "\x00"), nil
			}
		}
		return got, "", nil
	}
	return 0, "", errors.New("no such device")
}

// keptAddrFlags are the address flags worth carrying over to the new
// namespace; the kernel sets IFA_F_PERMANENT itself.
const keptAddrFlags = unix.IFA_F_NODAD | unix.IFA_F_NOPREFIXROUTE | unix.IFA_F_HOMEADDRESS | unix.IFA_F_MANAGETEMPADDR

// permanentAddrs returns RTM_NEWADDR bodies for the addresses of device
// index that the spec keeps across the move: permanent (IFA_F_PERMANENT,
// configured, not learnt) and of global scope (RFC 3549 2.3.3.2).
func (r *rtnl) permanentAddrs(index int32) ([][]byte, error) {
	replies, err := r.request(unix.RTM_GETADDR, unix.NLM_F_DUMP, make([]byte, unix.SizeofIfAddrmsg))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, rep := range replies {
		if len(rep) < unix.SizeofIfAddrmsg {
			continue
		}
		ifa := *(*unix.IfAddrmsg)(unsafe.Pointer(&rep[0]))
		if int32(ifa.Index) != index || ifa.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		flags := uint32(ifa.Flags)
		attrs := map[uint16][]byte{}
		for typ, v := range rtAttrs(rep[unix.SizeofIfAddrmsg:]) {
			attrs[typ] = v
		}
		if v := attrs[unix.IFA_FLAGS]; len(v) == 4 {
			flags = binary.NativeEndian.Uint32(v)
		}
		if flags&unix.IFA_F_PERMANENT == 0 {
			continue
		}
		msg := unix.IfAddrmsg{Family: ifa.Family, Prefixlen: ifa.Prefixlen, Scope: ifa.Scope}
		body := slices.Clone((*[unix.SizeofIfAddrmsg]byte)(unsafe.Pointer(&msg))[:])
		for _, typ := range []uint16{unix.IFA_LOCAL, unix.IFA_ADDRESS, unix.IFA_BROADCAST, unix.IFA_RT_PRIORITY} {
			if v, ok := attrs[typ]; ok {
				body = append(body, rtAttr(typ, v)...)
			}
		}
		body = append(body, rtAttr(unix.IFA_FLAGS, binary.NativeEndian.AppendUint32(nil, flags&keptAddrFlags))...)
		out = append(out, body)
	}
	return out, nil
}

func ifInfomsg(index int32, flags, change uint32) []byte {
	m := unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: index, Flags: flags, Change: change}
	return slices.Clone((*[unix.SizeofIfInfomsg]byte)(unsafe.Pointer(&m))[:])
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

func rtAttr(typ uint16, v []byte) []byte {
	n := unix.SizeofRtAttr + len(v)
	b := make([]byte, nlAlign(n))
	binary.NativeEndian.PutUint16(b[0:], uint16(n))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[unix.SizeofRtAttr:], v)
	return b
}

// rtAttrs yields the type and value of each attribute in b.
func rtAttrs(b []byte) func(func(uint16, []byte) bool) {
	return func(yield func(uint16, []byte) bool) {
		for len(b) >= unix.SizeofRtAttr {
			n := int(binary.NativeEndian.Uint16(b[0:]))
			if n < unix.SizeofRtAttr || n > len(b) {
				return
			}
			if !yield(binary.NativeEndian.Uint16(b[2:])&^unix.NLA_F_NESTED, b[unix.SizeofRtAttr:n]) {
				return
			}
			b = b[min(nlAlign(n), len(b)):]
		}
	}
}
