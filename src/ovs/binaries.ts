import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { MissingBinaryError } from "../errors.js";

/** Which Debian package ships each program we run. */
const PACKAGE_OF: Record<string, string> = {
  "ovsdb-server": "openvswitch-switch",
  "ovsdb-tool": "openvswitch-common",
  "ovsdb-client": "openvswitch-common",
  "ovs-vswitchd": "openvswitch-switch",
  "ovs-vsctl": "openvswitch-switch",
  "ovs-ofctl": "openvswitch-common",
  "ovs-appctl": "openvswitch-common",
  "ovn-northd": "ovn-central",
  "ovn-nbctl": "ovn-common",
  "ovn-sbctl": "ovn-common",
  "ovn-trace": "ovn-common",
  "ovn-appctl": "ovn-common",
  "ovn-detrace": "ovn-common",
  "ovn-controller": "ovn-host",
};

/** ovs-vswitchd lives in /usr/sbin, which a non-root PATH may lack. */
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin"];

const cache = new Map<string, string>();

/** Absolute path of an OVS/OVN program, or an error naming the Debian package to install. */
export function findBinary(name: string): string {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      cache.set(name, candidate);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  const pkg = PACKAGE_OF[name];
  throw new MissingBinaryError(`${name} is not installed`, {
    hint:
      pkg === undefined
        ? `install ${name} and make sure it is on PATH`
        : `install it with: apt-get install -y ${pkg}  (all of them: apt-get install -y openvswitch-switch ovn-central ovn-host ovn-common python3-openvswitch)`,
  });
}
