import { describe, expect, it } from "vitest";
import { meterSpecs } from "../../src/snapshot/replica.js";

// `ovs-ofctl -O OpenFlow15 dump-meters br-int` exactly as OVS 3.1 printed it on a lab node after
// add-meter "meter=7 pktps burst stats bands=type=drop rate=10 burst_size=20" and "meter=9 kbps bands=type=drop rate=100".
const DUMP = `OFPST_METER_CONFIG reply (OF1.5) (xid=0x2):
meter=7 pktps burst stats bands=
type=drop rate=10 burst_size=20

meter=9 kbps bands=
type=drop rate=100
`;

describe("meterSpecs", () => {
  it("turns each dumped meter back into the one argument add-meter takes", () => {
    expect(meterSpecs(DUMP)).toEqual([
      "meter=7 pktps burst stats bands=type=drop rate=10 burst_size=20",
      "meter=9 kbps bands=type=drop rate=100",
    ]);
  });
  it("has nothing to restore from an empty reply", () => {
    expect(meterSpecs("OFPST_METER_CONFIG reply (OF1.5) (xid=0x2):\n")).toEqual([]);
  });
});
