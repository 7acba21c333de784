import { describe, expect, it } from "vitest";
import { meterSpecs } from "../../src/snapshot/replica.js";

// `ovs-ofctl -O OpenFlow15 dump-meters br-int` as OVS 3.1 printed it for two meters added with
// "meter=7 pktps burst stats bands=type=drop rate=10 burst_size=20" and a two-band kbps one.
const DUMP = `OFPST_METER_CONFIG reply (OF1.5) (xid=0x2):
meter=7 pktps burst stats bands=
type=drop rate=10 burst_size=20

meter=9 kbps burst bands=
type=drop rate=100 burst_size=10
type=dscp_remark rate=200 burst_size=10 prec_level=1
`;

describe("meterSpecs", () => {
  it("turns each dumped meter back into the one argument add-meter takes", () => {
    expect(meterSpecs(DUMP)).toEqual([
      "meter=7 pktps burst stats bands=type=drop rate=10 burst_size=20",
      "meter=9 kbps burst bands=type=drop rate=100 burst_size=10 type=dscp_remark rate=200 burst_size=10 prec_level=1",
    ]);
  });
  it("has nothing to restore from an empty reply", () => {
    expect(meterSpecs("OFPST_METER_CONFIG reply (OF1.5) (xid=0x2):\n")).toEqual([]);
  });
});
