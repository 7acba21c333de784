import type { ParsedDocument, SourceRef } from "./source.js";

// ---------------------------------------------------------------------------------------------------
// Datapath actions (`Datapath actions: ...`, also the actions of `ovs-appctl dpctl/dump-flows`)
// ---------------------------------------------------------------------------------------------------

/** One Geneve option, `{class=0x102,type=0x80,len=4,0x10003}`. */
export interface GeneveOption {
  /** Hex as printed ("0x102"). */
  readonly class: string;
  /** Hex as printed ("0x80"). */
  readonly type: string;
  /** Option data length in bytes, as printed after `len=`. */
  readonly length: number;
  /** Option data in hex as printed ("0x10003"), mask dropped; "" when none was printed. */
  readonly value: string;
}

/**
 * A tunnel the packet is sent into, the same fields whichever datapath printed it:
 * the userspace datapath builds the outer header itself (`tnl_push(tnl_port(6081),header(...),out_port(100))`),
 * the kernel datapath sets tunnel metadata and outputs to the tunnel port (`set(tunnel(tun_id=...,dst=...))`).
 */
export interface DatapathTunnel {
  readonly via: "tnl_push" | "set_tunnel";
  /** "geneve", "vxlan", "gre", ... when the text names it; null when it does not (a kernel tunnel without options). */
  readonly type: string | null;
  /** VNI / tunnel id in hex as printed (`vni=0x9`, `tun_id=0xff0003`). */
  readonly vni: string | null;
  /** Outer IP source; null when not printed (the kernel datapath leaves it to routing). */
  readonly src: string | null;
  /** Outer IP destination (the remote chassis). */
  readonly dst: string | null;
  /** Outer Ethernet addresses (tnl_push only). */
  readonly ethSrc: string | null;
  readonly ethDst: string | null;
  readonly ttl: number | null;
  readonly tos: number | null;
  readonly tpSrc: number | null;
  readonly tpDst: number | null;
  readonly geneveOptions: readonly GeneveOption[];
  /** `flags(df|csum|key)` of a kernel tunnel, or the Geneve header flags of a tnl_push (`crit`, `oam`). */
  readonly flags: readonly string[];
  /** tnl_push: the datapath port the encapsulated packet leaves by (`out_port(100)`). */
  readonly outPort: number | null;
  /** tnl_push: the tunnel port (`tnl_port(6081)`). */
  readonly tunnelPort: number | null;
}

/** `nat`, `nat(src)`, `nat(dst=10.244.2.3:53)`, `nat(dst=[fd00::3]:53)`, `nat(src=10.0.0.1-10.0.0.9:100-200,random)`. */
export interface CtNat {
  readonly text: string;
  /** null for a bare `nat` (undo an existing translation). */
  readonly direction: "src" | "dst" | null;
  /** First address of the range, IPv6 without brackets; null when none was printed. */
  readonly addr: string | null;
  /** Last address of a range; null for a single address. */
  readonly addrMax: string | null;
  readonly port: number | null;
  readonly portMax: number | null;
  /** `random`, `hash`, `persistent`, ... */
  readonly flags: readonly string[];
}

export interface OutputAction {
  readonly kind: "output";
  readonly text: string;
  /** Datapath port number; a name when the tool printed names (`dpctl/dump-flows --names`). */
  readonly port: number | string;
}

export interface CtAction {
  readonly kind: "ct";
  readonly text: string;
  /** null when the datapath default zone is used (no `zone=`). */
  readonly zone: number | null;
  readonly commit: boolean;
  readonly forceCommit: boolean;
  /** As printed, mask kept ("0x2/0x2", "0/0x1"). */
  readonly mark: string | null;
  readonly label: string | null;
  readonly nat: CtNat | null;
  readonly helper: string | null;
  /** Every comma-separated item inside `ct(...)`, as printed. */
  readonly options: readonly string[];
}

export interface RecircAction {
  readonly kind: "recirc";
  readonly text: string;
  /** Hex as printed ("0x1"). */
  readonly id: string;
}

/** `hash(l4(0))`: compute dp_hash before a recirculation (select groups). */
export interface HashAction {
  readonly kind: "hash";
  readonly text: string;
  /** "l4", "sym_l4", ... */
  readonly algorithm: string;
  readonly basis: number | null;
}

export interface TunnelPushAction {
  readonly kind: "tnl_push";
  readonly text: string;
  readonly tunnel: DatapathTunnel;
}

export interface SetTunnelAction {
  readonly kind: "set_tunnel";
  readonly text: string;
  readonly tunnel: DatapathTunnel;
}

/** `set(eth(src=..,dst=..))`, `set(ipv4(ttl=63))`, `set(ipv6(hlimit=63))`, `set(udp(src=..,dst=..))`. */
export interface SetAction {
  readonly kind: "set";
  readonly text: string;
  /** "eth", "ipv4", "ipv6", "tcp", "udp", ... */
  readonly header: string;
  /** Field → value as printed (a mask stays: "10.0.0.1/255.255.255.0"); "" for a bare flag. */
  readonly fields: Readonly<Record<string, string>>;
}

export interface PushVlanAction {
  readonly kind: "push_vlan";
  readonly text: string;
  readonly vid: number | null;
  readonly pcp: number | null;
  /** Hex as printed; null for the default 0x8100 (not printed). */
  readonly tpid: string | null;
}

export interface PopVlanAction {
  readonly kind: "pop_vlan";
  readonly text: string;
}

/** `userspace(pid=..., controller(...))`, `userspace(pid=..., slow_path(...))`, sFlow/IPFIX cookies, ... */
export interface UserspaceAction {
  readonly kind: "userspace";
  readonly text: string;
  readonly pid: number | null;
  /** The items after `pid=`, as printed. */
  readonly options: readonly string[];
}

export interface DropAction {
  readonly kind: "drop";
  readonly text: string;
}

export interface MeterAction {
  readonly kind: "meter";
  readonly text: string;
  readonly id: number;
}

export interface CloneAction {
  readonly kind: "clone";
  readonly text: string;
  readonly actions: readonly DatapathAction[];
}

/** `sample(sample=50.0%,actions(...))`. */
export interface SampleAction {
  readonly kind: "sample";
  readonly text: string;
  /** As printed ("50.0%"). */
  readonly probability: string | null;
  readonly actions: readonly DatapathAction[];
}

/** Any other action (`ct_clear`, `tnl_pop(6081)`, `push_nsh(...)`, `check_pkt_len(...)`, `trunc(100)`, ...). */
export interface OtherDatapathAction {
  readonly kind: "other";
  readonly text: string;
  /** The text before `(`, or the whole bare word. */
  readonly name: string;
}

export type DatapathAction =
  | OutputAction
  | CtAction
  | RecircAction
  | HashAction
  | TunnelPushAction
  | SetTunnelAction
  | SetAction
  | PushVlanAction
  | PopVlanAction
  | UserspaceAction
  | DropAction
  | MeterAction
  | CloneAction
  | SampleAction
  | OtherDatapathAction;

/**
 * A tunnel as OVN uses it: the VNI is the datapath's tunnel key and the Geneve option
 * class 0x102 type 0x80 carries `(logical ingress port key << 16) | logical egress port key`.
 */
export interface OvnTunnel {
  /** The VNI as a number (an OVN datapath tunnel key is 24 bits); null when not printed. */
  readonly vni: number | null;
  readonly dst: string | null;
  readonly src: string | null;
  /** null when the OVN Geneve option is missing. */
  readonly ovnIngressPortKey: number | null;
  readonly ovnEgressPortKey: number | null;
  readonly tunnel: DatapathTunnel;
}

// ---------------------------------------------------------------------------------------------------
// ofproto/trace
// ---------------------------------------------------------------------------------------------------

/** One comma-separated item of a flow: `nw_src=10.244.1.3`, or a bare keyword such as `udp`, `eth`. */
export interface FlowItem {
  readonly name: string;
  /** As printed (masks kept: `0x4/0x4`); null for a bare keyword. */
  readonly value: string | null;
}

/** A flow as ofproto/trace prints it after `Flow:`, `Final flow:`, `Megaflow:`, `Initial flow:`, `Modified flow:`. */
export interface TraceFlowLine {
  readonly source: SourceRef;
  /** Everything after the label, as printed (without trailing blanks). */
  readonly text: string;
  /** `Final flow: unchanged` (then there are no items). */
  readonly unchanged: boolean;
  /** The last bare keyword (`udp`, `tcp6`, `icmp`, `ip`, `eth`, ...); null when there is none. */
  readonly protocol: string | null;
  /** In printed order, keywords included. */
  readonly items: readonly FlowItem[];
  /** Name → value of the `name=value` items. */
  readonly values: Readonly<Record<string, string>>;
}

/**
 * An annotation line that `ovn-detrace` inserts after a step: `  * Logical flow: table=4 (ls_out_acl), ...`.
 * Primary lines are printed with `  * `, the Northbound hints under a logical flow with `   * `.
 */
export interface DetraceAnnotation {
  readonly source: SourceRef;
  /** "Logical datapath", "Logical datapaths", "Logical flow", "Port Binding", "ACL", "Logical Switch Port", ... */
  readonly label: string;
  /** The text after `label: `; "" when nothing follows the colon. */
  readonly text: string;
  /** A Northbound hint (`   * ACL: ...`), one level deeper than the primary lines. */
  readonly hint: boolean;
  /** Lines that continue this one (`  *     "ovn-worker" (uuid) [ingress]` under `Logical datapaths:`). */
  readonly continuation: readonly { readonly text: string; readonly source: SourceRef }[];
}

/**
 * `N. match, priority P, cookie 0x...`: a lookup in OpenFlow table N.
 * Its `items` are the lines printed under it: the rule's actions, `->` notes, and the steps, buckets and
 * bridges that are printed indented below it (a resubmit that is not the rule's last action, a clone's
 * pipeline, a patch port into another bridge, a group bucket).
 */
export interface TableStep {
  readonly kind: "table";
  readonly source: SourceRef;
  readonly table: number;
  /** The text after `N. `. */
  readonly text: string;
  /** The rule's match as printed ("" for a rule without match, `37. priority 0`); null when no rule matched. */
  readonly match: string | null;
  readonly priority: number | null;
  /** Hex as printed; null when the rule's cookie is 0 (not printed). */
  readonly cookie: string | null;
  /** The table-miss text when no rule matched (`No match.`, `No match, and a "packet-in" is called for.`). */
  readonly miss: string | null;
  /** The bridge the lookup happens in. */
  readonly bridge: string;
  /** How many table steps and group buckets enclose this one as printed (0: the bridge's own pipeline). */
  readonly depth: number;
  readonly items: readonly TraceItem[];
  /** ovn-detrace lines printed after this step. */
  readonly annotations: readonly DetraceAnnotation[];
}

/** `bridge("br-int")` with its dashed underline: the pipeline of one bridge. */
export interface BridgeBlock {
  readonly kind: "bridge";
  readonly source: SourceRef;
  readonly name: string;
  /** The line of dashes under the name; null when it is missing. */
  readonly underline: SourceRef | null;
  /** Entered from a step of another bridge (patch port); false for the pass's own bridge. */
  readonly nested: boolean;
  readonly items: readonly TraceItem[];
}

/** `bucket N` of a group, with the bucket's actions under it. */
export interface TraceGroupBucket {
  readonly kind: "bucket";
  readonly source: SourceRef;
  readonly bucket: number;
  readonly items: readonly TraceItem[];
}

/** `thaw`: the pass resumes a frozen translation (after a recirculation or a controller continuation). */
export interface ThawBlock {
  readonly kind: "thaw";
  readonly source: SourceRef;
  /** From `Resuming from table N`. */
  readonly resumeTable: number | null;
  /** From `Restoring actions: ...`. */
  readonly restoringActions: string | null;
  readonly items: readonly TraceItem[];
}

/** `Resuming from table N` (under `thaw`). */
export interface ResumeLine {
  readonly kind: "resume";
  readonly source: SourceRef;
  readonly table: number;
}

/** `Restoring actions: unroll_xlate(...),group:1` (under `thaw`). */
export interface RestoreLine {
  readonly kind: "restore";
  readonly source: SourceRef;
  readonly actions: string;
}

/** An OpenFlow action as executed (`set_field:0x3->reg14`, `resubmit(,8)`, `output:2`, `clone(...)`, `NORMAL`). */
export interface ActionLine {
  readonly kind: "action";
  readonly source: SourceRef;
  /** The action text, without indentation. */
  readonly text: string;
  /** The text before the first `(` or `:` ("set_field", "resubmit", "output", "ct", "NORMAL", ...). */
  readonly name: string;
  /** Target table of `resubmit(port,N)` / `goto_table:N`; null otherwise. */
  readonly resubmitTable: number | null;
  /**
   * The actions inside `clone(...)`, split at top-level commas; null for other actions.
   * ofproto/trace prints each of them again on its own line right after the clone line, at the same indentation.
   */
  readonly cloneActions: readonly string[] | null;
}

/** `-> detail`, `>> warning`, `>>>> error <<<<` lines that OVS prints under an action. */
export interface NoteLine {
  readonly kind: "note";
  readonly source: SourceRef;
  readonly level: "detail" | "warning" | "error";
  /** The text without the arrow (`output to native tunnel`, `no live bucket`, `NXM_NX_REG14[..] is now 0x3`). */
  readonly text: string;
}

export type TraceItem =
  TableStep | BridgeBlock | TraceGroupBucket | ThawBlock | ResumeLine | RestoreLine | ActionLine | NoteLine;

/** The `Replacing src/dst IP/ports to simulate NAT:` part of a recirculation header. */
export interface NatSimulation {
  readonly source: SourceRef;
  /** ` Initial flow: nw_src=..,tp_src=..,nw_dst=..,tp_dst=..` (no items when OVS printed none). */
  readonly initial: TraceFlowLine | null;
  readonly modified: TraceFlowLine | null;
}

/**
 * The block between two `=====` lines that opens every pass after the first:
 * `recirc(0x1) - resume conntrack with ct_state=new|trk`.
 */
export interface RecircHeader {
  readonly source: SourceRef;
  /** Hex as printed ("0x1"). */
  readonly recircId: string;
  /** The ct_state the pass resumes with (`new|trk`); null when the recirculation is not a conntrack one. */
  readonly ctState: string | null;
  /** OVS used its default (`trk|new`) because `--ct-next` gave no (more) state. */
  readonly ctStateDefault: boolean;
  readonly nat: NatSimulation | null;
  /** The `=====` lines. */
  readonly separators: readonly SourceRef[];
}

/** `Datapath actions: ...`, as printed and parsed. */
export interface DatapathActionsLine {
  readonly source: SourceRef;
  readonly text: string;
  readonly actions: readonly DatapathAction[];
}

/** Lines OVS may print after `Datapath actions:`. */
export interface TrailerLine {
  readonly kind: "translation-failed" | "slow-path" | "slow-path-reason" | "execution-failed";
  readonly source: SourceRef;
  /**
   * `Translation failed (Recursion too deep), ...` → "Recursion too deep"; the slow-path heading or one of its
   * `  - reason.` lines; `Action execution failed (No such device)` → "No such device".
   */
  readonly text: string;
  /** Lines that finish this one (OVS prints the period of `Action execution failed (...)` on a line of its own). */
  readonly continuation: readonly SourceRef[];
}

/** One translation: the initial one, then one per recirculation that ofproto/trace follows. */
export interface TracePass {
  /** null for the first pass. */
  readonly recirc: RecircHeader | null;
  readonly flow: TraceFlowLine;
  /** The pass's own bridge(s); bridges entered by patch port are nested inside steps. */
  readonly bridges: readonly BridgeBlock[];
  readonly finalFlow: TraceFlowLine | null;
  readonly megaflow: TraceFlowLine | null;
  readonly datapathActions: DatapathActionsLine;
  /** From `Translation failed (...), packet is dropped.`; null when translation succeeded. */
  readonly translationFailure: string | null;
  readonly trailer: readonly TrailerLine[];
}

/** `Trace reached the recirculation limit.  Sopping the trace here.` (sic) and the queued count. */
export interface RecirculationLimit {
  readonly source: SourceRef;
  readonly queued: number | null;
  readonly lines: readonly SourceRef[];
}

/**
 * `ovs-appctl ofproto/trace` output (OVS 2.7 and later), optionally annotated by `ovn-detrace`.
 * Blank lines are separators: neither records nor `unconsumed`.
 */
export interface OfprotoTraceDocument extends ParsedDocument<"ofproto-trace"> {
  readonly passes: readonly TracePass[];
  /** Some step carries ovn-detrace annotations. */
  readonly detraced: boolean;
  /**
   * No action line is indented: the indentation was stripped (ovn-detrace prints every trace line stripped,
   * some published copies were de-indented). Steps are then siblings in their bridge and a bridge entered by
   * patch port keeps the rest of its pass: the nesting cannot be recovered from the text.
   */
  readonly indentationLost: boolean;
  readonly recirculationLimit: RecirculationLimit | null;
}
