import type { Step } from "../../model/report.js";
import type { TraceRunDirection, TraceRunHop } from "../../model/trace-run.js";
import { esc, slug } from "./escape.js";
import { datapathRole, type LogicalStage, type PathModel, type Segment } from "./path-model.js";

/**
 * What happened on each node a direction crossed, under the picture: the OpenFlow hop (the steps whose actions
 * mattered, conntrack recirculations, every step on demand, each named after its logical flow and annotated by
 * ovn-detrace when it ran), the logical stages ovn-trace went through there, and the tools' raw outputs. All
 * in <details>, closed.
 */

type OpenFlowStep = Extract<Step, { kind: "openflow" }>;

/** ovn-detrace's annotations (its `  * ...` lines) of each flow of an ofproto/trace, in the trace's order. */
interface DetraceFlow {
  readonly table: number;
  readonly notes: string[];
}

export function detraceFlows(output: string): DetraceFlow[] {
  const flows: DetraceFlow[] = [];
  for (const line of output.split("\n")) {
    const head = /^\s*(\d+)\. /.exec(line);
    if (head !== null) flows.push({ table: Number(head[1]), notes: [] });
    else if (/^\s*\* /.test(line)) flows.at(-1)?.notes.push(line.trim().replace(/^\* /, ""));
  }
  return flows;
}

/** Each OpenFlow step's detrace annotations, matched in order by table. */
function detraceOf(steps: readonly OpenFlowStep[], output: string | undefined): Map<OpenFlowStep, string[]> {
  const out = new Map<OpenFlowStep, string[]>();
  if (output === undefined) return out;
  const flows = detraceFlows(output);
  let at = 0;
  for (const s of steps) {
    for (let k = at; k < Math.min(flows.length, at + 8); k++) {
      const f = flows[k];
      if (f?.table !== s.table) continue;
      if (f.notes.length > 0) out.set(s, f.notes);
      at = k + 1;
      break;
    }
  }
  return out;
}

const cookieKey = (hex: string): string => parseInt(hex.replace(/^0x/, ""), 16).toString(16);

/** OpenFlow cookies are the first 32 bits of the logical flow's uuid: each cookie's logical stage(s). */
export function logicalFlowsByCookie(d: TraceRunDirection): Map<string, string> {
  const byCookie = new Map<string, LogicalStage[]>();
  for (const h of d.hops)
    for (const s of h.steps) {
      if (s.kind !== "logical-stage" || s.uuid === undefined || !/^[0-9a-f]{8}/i.test(s.uuid)) continue;
      const k = cookieKey(s.uuid.slice(0, 8));
      byCookie.set(k, [...(byCookie.get(k) ?? []), s]);
    }
  const out = new Map<string, string>();
  for (const [k, stages] of byCookie) {
    const first = stages[0];
    if (first === undefined) continue;
    const datapaths = new Set(stages.map((s) => s.datapath));
    // one logical flow may serve several datapaths (datapath groups): name it by its datapath only when one
    out.set(
      k,
      `${datapaths.size === 1 ? `${first.datapath} ` : ""}${first.stage} (table ${String(first.table)}, priority ${String(first.priority ?? "?")})`,
    );
  }
  return out;
}

const routine = /^(resubmit\(|set_field:[^>]*->(x{0,2}reg\d+|metadata)$|move:NXM_NX_(X{0,2})REG|load:)/;

/** Whether an OpenFlow step did more than pass the packet on: conntrack, NAT, output, drop, rewrites, tunnels. */
export function mattered(s: OpenFlowStep): boolean {
  if (s.match === "No match.") return false;
  return s.actions.some((a) => !routine.test(a) && a !== "next" && a !== "" && !a.startsWith("->"));
}

/** The conntrack actions of an OpenFlow hop: each ct(), where it recirculates, what it commits or NATs. */
export function conntrackOf(steps: readonly OpenFlowStep[]): string[] {
  const out: string[] = [];
  for (const s of steps)
    for (const a of s.actions) {
      if (!a.startsWith("ct(")) continue;
      const zone = /zone=([^,)]+(?:\[[^\]]*\])?)/.exec(a)?.[1];
      const table = /[(,]table=(\d+)/.exec(a)?.[1];
      const nat = /nat(\([^)]*\))?/.exec(a)?.[0];
      const what = [
        a.includes("commit") ? "commit" : "lookup",
        ...(zone === undefined ? [] : [`zone ${zone}`]),
        ...(nat === undefined ? [] : [nat]),
        table === undefined ? "no recirculation" : `recirculates, resumes at table ${table}`,
      ];
      out.push(`table ${String(s.table)}: ${what.join(", ")}`);
    }
  return out;
}

/** The raw output's recirculation lines ("recirc(0x12) - resume conntrack with ct_state=new|trk"). */
function recirculations(output: string | undefined): string[] {
  if (output === undefined) return [];
  return output
    .split("\n")
    .map((l, i) => ({ l: l.trim(), n: i + 1 }))
    .filter((x) => /^recirc\(0x[0-9a-f]+\) - /.test(x.l) || x.l.startsWith("Datapath actions:"))
    .map((x) => `line ${String(x.n)}: ${x.l}`);
}

const mono = (s: string): string => `<code>${esc(s)}</code>`;

function openflowRows(
  steps: readonly OpenFlowStep[],
  names: ReadonlyMap<string, string>,
  notes: ReadonlyMap<OpenFlowStep, string[]>,
  dropAt: OpenFlowStep | undefined,
  /** Mark the steps that mattered (in the table of every step). */
  highlight: boolean,
): string {
  const rows = steps.map((s) => {
    const name = s.cookie === undefined ? undefined : names.get(cookieKey(s.cookie));
    const n = notes.get(s);
    const cls = s === dropAt ? ` class="drop-step"` : highlight && mattered(s) ? ` class="key"` : "";
    return `<tr${cls}><td>${String(s.table)}</td><td>${s.priority === undefined ? "" : String(s.priority)}</td><td class="wrap match">${mono(s.match)}${s === dropAt ? ' <span class="tag bad">dropped here</span>' : ""}</td><td class="wrap">${mono(s.actions.join(", "))}</td><td>${s.cookie === undefined ? "" : mono(s.cookie)}${name === undefined ? "" : `<div class="note">${esc(name)}</div>`}${n === undefined ? "" : `<div class="note detrace">${esc(n.join("\n"))}</div>`}</td><td>${String(s.source.line)}</td></tr>`;
  });
  return `<table><thead><tr><th>table</th><th>priority</th><th>match</th><th>actions</th><th>cookie: logical flow</th><th>line</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The step a dropped OpenFlow hop stopped at (its cookie, else its source line). */
function dropStep(h: TraceRunHop, steps: readonly OpenFlowStep[]): OpenFlowStep | undefined {
  const o = h.outcome;
  if (o.kind !== "dropped") return undefined;
  const table = /table (\d+)/.exec(o.where)?.[1];
  return (
    steps.find((s) => o.cookie !== undefined && s.cookie === o.cookie && String(s.table) === table) ??
    steps.find((s) => o.source !== undefined && s.source.line === o.source.line)
  );
}

export function outcomeText(h: TraceRunHop): string {
  const o = h.outcome;
  switch (o.kind) {
    case "output":
      return `output to ${o.port}${o.portType === undefined || o.portType === "" ? "" : ` (${o.portType})`}`;
    case "tunnel":
      return `tunnel to ${o.toNode} (VNI 0x${o.vni.toString(16)}, ${String(o.vni)})`;
    case "dropped":
      return `dropped at ${o.where}: ${o.reason}`;
    case "error":
      return `error: ${o.message}`;
  }
}

const commandText = (argv: readonly string[]): string =>
  argv.map((a) => (/[\s"'|&;<>()$`\\*]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(" ");

function rawDetails(h: TraceRunHop): string {
  const out = [`<details><summary>command</summary><pre>${esc(commandText(h.command))}</pre></details>`];
  if (h.output !== undefined)
    out.push(
      `<details><summary>${esc(h.tool)} output (${String(h.output.split("\n").length)} lines)</summary><pre>${esc(h.output)}</pre></details>`,
    );
  else
    out.push(`<p class="note">The tool's whole output is left out (run with --include-raw to keep it).</p>`);
  if (h.detrace?.output !== undefined)
    out.push(`<details><summary>ovn-detrace output</summary><pre>${esc(h.detrace.output)}</pre></details>`);
  return out.join("\n");
}

function openflowHop(h: TraceRunHop, names: ReadonlyMap<string, string>): string {
  const steps = h.steps.filter((s): s is OpenFlowStep => s.kind === "openflow");
  const notes = detraceOf(steps, h.detrace?.output);
  const drop = dropStep(h, steps);
  const key = steps.filter((s) => s === drop || mattered(s));
  const tables = [...new Set(steps.map((s) => s.table))];
  const ct = conntrackOf(steps);
  const recirc = recirculations(h.output);
  const dropped = h.outcome.kind === "dropped";
  return `<details class="openflow"><summary>OpenFlow: ofproto/trace on ${esc(h.startsIn)}: ${String(steps.length)} steps in ${String(tables.length)} tables, ${String(ct.length)} conntrack action${ct.length === 1 ? "" : "s"}; ${dropped ? '<span class="tag bad">dropped</span> ' : ""}${esc(outcomeText(h))}</summary>
<h4>Steps that mattered (${String(key.length)} of ${String(steps.length)})</h4>
${openflowRows(key, names, notes, drop, false)}
${ct.length === 0 ? "" : `<h4>Conntrack</h4><ul>${ct.map((c) => `<li>${mono(c)}</li>`).join("")}</ul>`}
${recirc.length === 0 ? "" : `<details><summary>Recirculations in the output (${String(recirc.length)} lines)</summary><ul>${recirc.map((c) => `<li>${mono(c)}</li>`).join("")}</ul></details>`}
<details><summary>All ${String(steps.length)} OpenFlow steps</summary>${openflowRows(steps, names, notes, drop, true)}</details>
${rawDetails(h)}
</details>`;
}

const interesting = /\b(drop|reject|ct_lb\w*|ct_dnat|ct_snat|ct_commit|output|icmp4|icmp6|tcp_reset)\b/;

function segmentTable(g: Segment, nodes: ReadonlySet<string>): string {
  const router = g.stages.some((s) => s.stage.startsWith("lr_"));
  const rows = g.stages.map((s) => {
    const cls = interesting.test(s.actions.join(" ")) ? ` class="key"` : "";
    return `<tr${cls}><td>${esc(s.pipeline)} ${String(s.table)}</td><td>${esc(s.stage)}</td><td>${s.priority === undefined ? "" : String(s.priority)}</td><td class="wrap match">${mono(s.match ?? "")}</td><td class="wrap">${mono(s.actions.join(" "))}</td><td>${s.uuid === undefined ? "" : mono(s.uuid)}</td><td>${String(s.source.line)}</td></tr>`;
  });
  return `<h4>${esc(g.datapath)}: ${esc(datapathRole(g.datapath, router, nodes))} (${esc(g.pipelines.join(" → "))})</h4>
<table><thead><tr><th>pipeline, table</th><th>stage</th><th>priority</th><th>match</th><th>actions</th><th>logical flow</th><th>line</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function logicalDetails(
  segments: readonly Segment[],
  hops: readonly TraceRunHop[],
  nodes: ReadonlySet<string>,
): string {
  if (segments.length === 0 && hops.length === 0) return "";
  const ran = hops.map(
    (h) =>
      `<details><summary>ovn-trace run on ${esc(h.node)}${h.zone === undefined ? "" : ` (zone ${esc(h.zone)})`} from ${esc(h.startsIn)}: ${h.outcome.kind === "dropped" ? '<span class="tag bad">dropped</span> ' : ""}${esc(outcomeText(h))}</summary>${rawDetails(h)}</details>`,
  );
  const elsewhere =
    hops.length === 0
      ? `<p class="note">These stages come from the ovn-trace run in the zone the packet started in (its output is in that node's section): OVN runs them on this node, the node of the output port, after the tunnel.</p>`
      : "";
  return `<details class="logical"><summary>Logical stages (ovn-trace): ${segments.length === 0 ? "none on this node" : esc(segments.map((g) => `${g.datapath} (${g.pipelines.join(" → ")})`).join(", "))}</summary>
${segments.map((g) => segmentTable(g, nodes)).join("\n")}${elsewhere}
${ran.join("\n")}
</details>`;
}

/** The anchor of a node's section in a direction. */
export const nodeSectionId = (prefix: string, node: string): string => `${prefix}-node-${slug(node)}`;

/** One section per node the direction crossed, in the order the packet crossed them. */
export function nodeSections(d: TraceRunDirection, model: PathModel, prefix: string): string {
  const order = [...model.nodes];
  for (const h of d.hops) if (!order.includes(h.node)) order.push(h.node);
  const names = logicalFlowsByCookie(d);
  const known = new Set<string>([...order, ...d.hops.map((h) => h.node)]);
  return order
    .map((node) => {
      const openflow = d.hops.filter((h) => h.tool === "ofproto/trace" && h.node === node);
      const segments = model.segments.filter((g) => g.node === node);
      const ovn = d.hops.filter((h) => h.tool === "ovn-trace" && h.node === node);
      const what = [
        ...(segments.length === 0
          ? []
          : [`${String(segments.length)} logical datapath${segments.length === 1 ? "" : "s"}`]),
        ...openflow.map((h) => `OpenFlow: ${outcomeText(h)}`),
      ];
      return `<section class="node" id="${esc(nodeSectionId(prefix, node))}">
<h4>node ${esc(node)}</h4>
<p class="note">${esc(what.join("; "))}</p>
${openflow.map((h) => openflowHop(h, names)).join("\n")}
${logicalDetails(segments, ovn, known)}
</section>`;
    })
    .join("\n");
}
