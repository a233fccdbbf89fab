/**
 * The instruction table, part 2: VEX encodings (AVX, AVX2, FMA, F16C, AES,
 * PCLMULQDQ, BMI1, BMI2). Syntax as in table-legacy.ts; the opcode column is
 * the SDM's "VEX.L.pp.map.W" (L0/L1/LIG, NP/66/F3/F2, 0F/0F38/0F3A, W0/W1/WIG).
 * Source: Intel SDM Vol. 2 instruction pages and Appendix A.
 */

const out: string[] = [];
const add = (s: string): void => { out.push(s); };

/** Packed op on both vector lengths: AVX for floating point; integer ops need AVX2 at L1. */
function packed(pfx: string, map: string, op: string, mn: string, ops: string, kind: 'fp' | 'int', attrs = ''): void {
  if (kind === 'fp') add(`VEX.${pfx}.${map}.WIG ${op} /r ; ${mn} ${ops} ; f=AVX ${attrs}`);
  else {
    add(`VEX.L0.${pfx}.${map}.WIG ${op} /r ; ${mn} ${ops} ; f=AVX ${attrs}`);
    add(`VEX.L1.${pfx}.${map}.WIG ${op} /r ; ${mn} ${ops} ; f=AVX2 ${attrs}`);
  }
}

// ---- 0F map: floating point -------------------------------------------------------
const FP3: ReadonlyArray<readonly [string, string]> = [
  ['14', 'unpckl'], ['15', 'unpckh'], ['54', 'and'], ['55', 'andn'], ['56', 'or'], ['57', 'xor'], ['58', 'add'],
  ['59', 'mul'], ['5C', 'sub'], ['5D', 'min'], ['5E', 'div'], ['5F', 'max'],
];
for (const [op, base] of FP3) {
  packed('NP', '0F', op, `v${base}ps`, 'Vx,Hx,Wx', 'fp');
  packed('66', '0F', op, `v${base}pd`, 'Vx,Hx,Wx', 'fp');
  if (['58', '59', '5C', '5D', '5E', '5F'].includes(op)) {
    add(`VEX.LIG.F3.0F.WIG ${op} /r ; v${base}ss Vo,Ho,Wd ; f=AVX`);
    add(`VEX.LIG.F2.0F.WIG ${op} /r ; v${base}sd Vo,Ho,Wq ; f=AVX`);
  }
}
add('VEX.NP.0F.WIG 10 /r ; vmovups Vx,Wx ; f=AVX dw');
add('VEX.66.0F.WIG 10 /r ; vmovupd Vx,Wx ; f=AVX dw');
add('VEX.LIG.F3.0F.WIG 10 /r:m ; vmovss Vo,Md ; f=AVX dw');
add('VEX.LIG.F3.0F.WIG 10 /r:r ; vmovss Vo,Ho,Uo ; f=AVX dw');
add('VEX.LIG.F2.0F.WIG 10 /r:m ; vmovsd Vo,Mq ; f=AVX dw');
add('VEX.LIG.F2.0F.WIG 10 /r:r ; vmovsd Vo,Ho,Uo ; f=AVX dw');
add('VEX.NP.0F.WIG 11 /r ; vmovups Wx,Vx ; f=AVX dw');
add('VEX.66.0F.WIG 11 /r ; vmovupd Wx,Vx ; f=AVX dw');
add('VEX.LIG.F3.0F.WIG 11 /r:m ; vmovss Md,Vo ; f=AVX dw');
add('VEX.LIG.F3.0F.WIG 11 /r:r ; vmovss Uo,Ho,Vo ; f=AVX dw');
add('VEX.LIG.F2.0F.WIG 11 /r:m ; vmovsd Mq,Vo ; f=AVX dw');
add('VEX.LIG.F2.0F.WIG 11 /r:r ; vmovsd Uo,Ho,Vo ; f=AVX dw');
add('VEX.L0.NP.0F.WIG 12 /r:m ; vmovlps Vo,Ho,Mq ; f=AVX');
add('VEX.L0.NP.0F.WIG 12 /r:r ; vmovhlps Vo,Ho,Uo ; f=AVX');
add('VEX.L0.66.0F.WIG 12 /r:m ; vmovlpd Vo,Ho,Mq ; f=AVX');
add('VEX.F3.0F.WIG 12 /r ; vmovsldup Vx,Wx ; f=AVX dw');
add('VEX.L0.F2.0F.WIG 12 /r ; vmovddup Vo,Wq ; f=AVX dw');
add('VEX.L1.F2.0F.WIG 12 /r ; vmovddup Vqq,Wqq ; f=AVX dw');
add('VEX.L0.NP.0F.WIG 13 /r:m ; vmovlps Mq,Vo ; f=AVX dw');
add('VEX.L0.66.0F.WIG 13 /r:m ; vmovlpd Mq,Vo ; f=AVX dw');
add('VEX.L0.NP.0F.WIG 16 /r:m ; vmovhps Vo,Ho,Mq ; f=AVX');
add('VEX.L0.NP.0F.WIG 16 /r:r ; vmovlhps Vo,Ho,Uo ; f=AVX');
add('VEX.L0.66.0F.WIG 16 /r:m ; vmovhpd Vo,Ho,Mq ; f=AVX');
add('VEX.F3.0F.WIG 16 /r ; vmovshdup Vx,Wx ; f=AVX dw');
add('VEX.L0.NP.0F.WIG 17 /r:m ; vmovhps Mq,Vo ; f=AVX dw');
add('VEX.L0.66.0F.WIG 17 /r:m ; vmovhpd Mq,Vo ; f=AVX dw');
add('VEX.NP.0F.WIG 28 /r ; vmovaps Vx,Wx ; f=AVX dw align');
add('VEX.66.0F.WIG 28 /r ; vmovapd Vx,Wx ; f=AVX dw align');
add('VEX.NP.0F.WIG 29 /r ; vmovaps Wx,Vx ; f=AVX dw align');
add('VEX.66.0F.WIG 29 /r ; vmovapd Wx,Vx ; f=AVX dw align');
add('VEX.LIG.F3.0F 2A /r ; vcvtsi2ss Vo,Ho,Ey ; f=AVX');
add('VEX.LIG.F2.0F 2A /r ; vcvtsi2sd Vo,Ho,Ey ; f=AVX');
add('VEX.NP.0F.WIG 2B /r:m ; vmovntps Mx,Vx ; f=AVX dw align');
add('VEX.66.0F.WIG 2B /r:m ; vmovntpd Mx,Vx ; f=AVX dw align');
add('VEX.LIG.F3.0F 2C /r ; vcvttss2si Gy,Wd ; f=AVX dw');
add('VEX.LIG.F2.0F 2C /r ; vcvttsd2si Gy,Wq ; f=AVX dw');
add('VEX.LIG.F3.0F 2D /r ; vcvtss2si Gy,Wd ; f=AVX dw');
add('VEX.LIG.F2.0F 2D /r ; vcvtsd2si Gy,Wq ; f=AVX dw');
add('VEX.LIG.NP.0F.WIG 2E /r ; vucomiss Vo,Wd ; f=AVX dr w:OSZAPC');
add('VEX.LIG.66.0F.WIG 2E /r ; vucomisd Vo,Wq ; f=AVX dr w:OSZAPC');
add('VEX.LIG.NP.0F.WIG 2F /r ; vcomiss Vo,Wd ; f=AVX dr w:OSZAPC');
add('VEX.LIG.66.0F.WIG 2F /r ; vcomisd Vo,Wq ; f=AVX dr w:OSZAPC');
add('VEX.NP.0F.WIG 50 /r:r ; vmovmskps Gy,Ux ; f=AVX dw');
add('VEX.66.0F.WIG 50 /r:r ; vmovmskpd Gy,Ux ; f=AVX dw');
add('VEX.NP.0F.WIG 51 /r ; vsqrtps Vx,Wx ; f=AVX dw');
add('VEX.66.0F.WIG 51 /r ; vsqrtpd Vx,Wx ; f=AVX dw');
add('VEX.LIG.F3.0F.WIG 51 /r ; vsqrtss Vo,Ho,Wd ; f=AVX');
add('VEX.LIG.F2.0F.WIG 51 /r ; vsqrtsd Vo,Ho,Wq ; f=AVX');
add('VEX.NP.0F.WIG 52 /r ; vrsqrtps Vx,Wx ; f=AVX dw');
add('VEX.LIG.F3.0F.WIG 52 /r ; vrsqrtss Vo,Ho,Wd ; f=AVX');
add('VEX.NP.0F.WIG 53 /r ; vrcpps Vx,Wx ; f=AVX dw');
add('VEX.LIG.F3.0F.WIG 53 /r ; vrcpss Vo,Ho,Wd ; f=AVX');
add('VEX.NP.0F.WIG 5A /r ; vcvtps2pd Vx,Wh ; f=AVX dw');
add('VEX.66.0F.WIG 5A /r ; vcvtpd2ps Vo,Wx ; f=AVX dw');
add('VEX.LIG.F3.0F.WIG 5A /r ; vcvtss2sd Vo,Ho,Wd ; f=AVX');
add('VEX.LIG.F2.0F.WIG 5A /r ; vcvtsd2ss Vo,Ho,Wq ; f=AVX');
add('VEX.NP.0F.WIG 5B /r ; vcvtdq2ps Vx,Wx ; f=AVX dw');
add('VEX.66.0F.WIG 5B /r ; vcvtps2dq Vx,Wx ; f=AVX dw');
add('VEX.F3.0F.WIG 5B /r ; vcvttps2dq Vx,Wx ; f=AVX dw');
add('VEX.66.0F.WIG 7C /r ; vhaddpd Vx,Hx,Wx ; f=AVX');
add('VEX.F2.0F.WIG 7C /r ; vhaddps Vx,Hx,Wx ; f=AVX');
add('VEX.66.0F.WIG 7D /r ; vhsubpd Vx,Hx,Wx ; f=AVX');
add('VEX.F2.0F.WIG 7D /r ; vhsubps Vx,Hx,Wx ; f=AVX');
add('VEX.L0.NP.0F.WIG AE /2:m ; vldmxcsr Md ; f=AVX dr');
add('VEX.L0.NP.0F.WIG AE /3:m ; vstmxcsr Md ; f=AVX dw');
add('VEX.NP.0F.WIG C2 /r ; vcmpps Vx,Hx,Wx,Ib ; f=AVX');
add('VEX.66.0F.WIG C2 /r ; vcmppd Vx,Hx,Wx,Ib ; f=AVX');
add('VEX.LIG.F3.0F.WIG C2 /r ; vcmpss Vo,Ho,Wd,Ib ; f=AVX');
add('VEX.LIG.F2.0F.WIG C2 /r ; vcmpsd Vo,Ho,Wq,Ib ; f=AVX');
add('VEX.NP.0F.WIG C6 /r ; vshufps Vx,Hx,Wx,Ib ; f=AVX');
add('VEX.66.0F.WIG C6 /r ; vshufpd Vx,Hx,Wx,Ib ; f=AVX');
add('VEX.66.0F.WIG D0 /r ; vaddsubpd Vx,Hx,Wx ; f=AVX');
add('VEX.F2.0F.WIG D0 /r ; vaddsubps Vx,Hx,Wx ; f=AVX');
add('VEX.66.0F.WIG E6 /r ; vcvttpd2dq Vo,Wx ; f=AVX dw');
add('VEX.F3.0F.WIG E6 /r ; vcvtdq2pd Vx,Wh ; f=AVX dw');
add('VEX.F2.0F.WIG E6 /r ; vcvtpd2dq Vo,Wx ; f=AVX dw');
add('VEX.F2.0F.WIG F0 /r:m ; vlddqu Vx,Mx ; f=AVX dw');
add('VEX.L0.NP.0F.WIG 77 ; vzeroupper ; f=AVX');
add('VEX.L1.NP.0F.WIG 77 ; vzeroall ; f=AVX');

// ---- 0F map: integer (66) -------------------------------------------------------------
const INT3: ReadonlyArray<readonly [string, string]> = [
  ['60', 'punpcklbw'], ['61', 'punpcklwd'], ['62', 'punpckldq'], ['63', 'packsswb'], ['64', 'pcmpgtb'],
  ['65', 'pcmpgtw'], ['66', 'pcmpgtd'], ['67', 'packuswb'], ['68', 'punpckhbw'], ['69', 'punpckhwd'],
  ['6A', 'punpckhdq'], ['6B', 'packssdw'], ['6C', 'punpcklqdq'], ['6D', 'punpckhqdq'], ['74', 'pcmpeqb'],
  ['75', 'pcmpeqw'], ['76', 'pcmpeqd'], ['D4', 'paddq'], ['D5', 'pmullw'], ['D8', 'psubusb'], ['D9', 'psubusw'],
  ['DA', 'pminub'], ['DB', 'pand'], ['DC', 'paddusb'], ['DD', 'paddusw'], ['DE', 'pmaxub'], ['DF', 'pandn'],
  ['E0', 'pavgb'], ['E3', 'pavgw'], ['E4', 'pmulhuw'], ['E5', 'pmulhw'], ['E8', 'psubsb'], ['E9', 'psubsw'],
  ['EA', 'pminsw'], ['EB', 'por'], ['EC', 'paddsb'], ['ED', 'paddsw'], ['EE', 'pmaxsw'], ['EF', 'pxor'],
  ['F4', 'pmuludq'], ['F5', 'pmaddwd'], ['F6', 'psadbw'], ['F8', 'psubb'], ['F9', 'psubw'], ['FA', 'psubd'],
  ['FB', 'psubq'], ['FC', 'paddb'], ['FD', 'paddw'], ['FE', 'paddd'],
];
for (const [op, mn] of INT3) packed('66', '0F', op, `v${mn}`, 'Vx,Hx,Wx', 'int');
// Shifts by an XMM count: the count operand is always 128 bits.
for (const [op, mn] of [['D1', 'psrlw'], ['D2', 'psrld'], ['D3', 'psrlq'], ['E1', 'psraw'], ['E2', 'psrad'],
  ['F1', 'psllw'], ['F2', 'pslld'], ['F3', 'psllq']] as const) packed('66', '0F', op, `v${mn}`, 'Vx,Hx,Wo', 'int');
// Shifts by immediate: the destination is VEX.vvvv (SDM "VEX.NDD").
for (const [op, reg, mn] of [['71', 2, 'psrlw'], ['71', 4, 'psraw'], ['71', 6, 'psllw'], ['72', 2, 'psrld'],
  ['72', 4, 'psrad'], ['72', 6, 'pslld'], ['73', 2, 'psrlq'], ['73', 3, 'psrldq'], ['73', 6, 'psllq'],
  ['73', 7, 'pslldq']] as const) {
  add(`VEX.L0.66.0F.WIG ${op} /${reg}:r ; v${mn} Hx,Ux,Ib ; f=AVX dw`);
  add(`VEX.L1.66.0F.WIG ${op} /${reg}:r ; v${mn} Hx,Ux,Ib ; f=AVX2 dw`);
}
add('VEX.L0.66.0F.W0 6E /r ; vmovd Vo,Ey ; f=AVX dw');
add('VEX.L0.66.0F.W1 6E /r ; vmovq Vo,Ey ; f=AVX dw only64');
add('VEX.L0.66.0F.W1 6E /r ; vmovd Vo,Ey ; f=AVX dw no64');
add('VEX.66.0F.WIG 6F /r ; vmovdqa Vx,Wx ; f=AVX dw align');
add('VEX.F3.0F.WIG 6F /r ; vmovdqu Vx,Wx ; f=AVX dw');
packed('66', '0F', '70', 'vpshufd', 'Vx,Wx,Ib', 'int', 'dw');
packed('F3', '0F', '70', 'vpshufhw', 'Vx,Wx,Ib', 'int', 'dw');
packed('F2', '0F', '70', 'vpshuflw', 'Vx,Wx,Ib', 'int', 'dw');
add('VEX.L0.66.0F.W0 7E /r ; vmovd Ey,Vo ; f=AVX dw');
add('VEX.L0.66.0F.W1 7E /r ; vmovq Ey,Vo ; f=AVX dw only64');
add('VEX.L0.66.0F.W1 7E /r ; vmovd Ey,Vo ; f=AVX dw no64');
add('VEX.L0.F3.0F.WIG 7E /r ; vmovq Vo,Wq ; f=AVX dw');
add('VEX.66.0F.WIG 7F /r ; vmovdqa Wx,Vx ; f=AVX dw align');
add('VEX.F3.0F.WIG 7F /r ; vmovdqu Wx,Vx ; f=AVX dw');
add('VEX.L0.66.0F.WIG C4 /r ; vpinsrw Vo,Ho,Ew32,Ib ; f=AVX');
add('VEX.L0.66.0F.WIG C5 /r:r ; vpextrw Gy,Uo,Ib ; f=AVX dw');
add('VEX.L0.66.0F.WIG D6 /r ; vmovq Wq,Vo ; f=AVX dw');
packed('66', '0F', 'D7', 'vpmovmskb', 'Gy,Ux', 'int', 'dw');
add('VEX.66.0F.WIG E7 /r:m ; vmovntdq Mx,Vx ; f=AVX dw align');
add('VEX.L0.66.0F.WIG F7 /r:r ; vmaskmovdqu Vo,Uo ; f=AVX dr impl=DSDI:w');

// ---- 0F38 map -------------------------------------------------------------------------------
const I38: ReadonlyArray<readonly [string, string]> = [
  ['00', 'pshufb'], ['01', 'phaddw'], ['02', 'phaddd'], ['03', 'phaddsw'], ['04', 'pmaddubsw'], ['05', 'phsubw'],
  ['06', 'phsubd'], ['07', 'phsubsw'], ['08', 'psignb'], ['09', 'psignw'], ['0A', 'psignd'], ['0B', 'pmulhrsw'],
  ['28', 'pmuldq'], ['29', 'pcmpeqq'], ['2B', 'packusdw'], ['37', 'pcmpgtq'], ['38', 'pminsb'], ['39', 'pminsd'],
  ['3A', 'pminuw'], ['3B', 'pminud'], ['3C', 'pmaxsb'], ['3D', 'pmaxsd'], ['3E', 'pmaxuw'], ['3F', 'pmaxud'],
  ['40', 'pmulld'],
];
for (const [op, mn] of I38) packed('66', '0F38', op, `v${mn}`, 'Vx,Hx,Wx', 'int');
for (const [op, mn] of [['1C', 'pabsb'], ['1D', 'pabsw'], ['1E', 'pabsd']] as const) packed('66', '0F38', op, `v${mn}`, 'Vx,Wx', 'int', 'dw');
for (const [op, sx, src] of [['20', 'bw', 'h'], ['21', 'bd', 'qx'], ['22', 'bq', 'ex'], ['23', 'wd', 'h'],
  ['24', 'wq', 'qx'], ['25', 'dq', 'h']] as const) {
  packed('66', '0F38', op, `vpmovsx${sx}`, `Vx,W${src}`, 'int', 'dw');
  packed('66', '0F38', (parseInt(op, 16) + 0x10).toString(16).toUpperCase(), `vpmovzx${sx}`, `Vx,W${src}`, 'int', 'dw');
}
add('VEX.66.0F38.W0 0C /r ; vpermilps Vx,Hx,Wx ; f=AVX');
add('VEX.66.0F38.W0 0D /r ; vpermilpd Vx,Hx,Wx ; f=AVX');
add('VEX.66.0F38.W0 0E /r ; vtestps Vx,Wx ; f=AVX dr w:OSZAPC');
add('VEX.66.0F38.W0 0F /r ; vtestpd Vx,Wx ; f=AVX dr w:OSZAPC');
add('VEX.66.0F38.W0 13 /r ; vcvtph2ps Vx,Wh ; f=F16C dw');
add('VEX.L1.66.0F38.W0 16 /r ; vpermps Vqq,Hqq,Wqq ; f=AVX2');
add('VEX.66.0F38.WIG 17 /r ; vptest Vx,Wx ; f=AVX dr w:OSZAPC');
add('VEX.66.0F38.W0 18 /r:m ; vbroadcastss Vx,Md ; f=AVX dw');
add('VEX.66.0F38.W0 18 /r:r ; vbroadcastss Vx,Uo ; f=AVX2 dw');
add('VEX.L1.66.0F38.W0 19 /r:m ; vbroadcastsd Vqq,Mq ; f=AVX dw');
add('VEX.L1.66.0F38.W0 19 /r:r ; vbroadcastsd Vqq,Uo ; f=AVX2 dw');
add('VEX.L1.66.0F38.W0 1A /r:m ; vbroadcastf128 Vqq,Mo ; f=AVX dw');
add('VEX.66.0F38.WIG 2A /r:m ; vmovntdqa Vx,Mx ; f=AVX dw align');
add('VEX.66.0F38.W0 2C /r:m ; vmaskmovps Vx,Hx,Mx ; f=AVX dw');
add('VEX.66.0F38.W0 2D /r:m ; vmaskmovpd Vx,Hx,Mx ; f=AVX dw');
add('VEX.66.0F38.W0 2E /r:m ; vmaskmovps Mx,Hx,Vx ; f=AVX dw');
add('VEX.66.0F38.W0 2F /r:m ; vmaskmovpd Mx,Hx,Vx ; f=AVX dw');
add('VEX.L1.66.0F38.W0 36 /r ; vpermd Vqq,Hqq,Wqq ; f=AVX2');
add('VEX.L0.66.0F38.WIG 41 /r ; vphminposuw Vo,Wo ; f=AVX dw');
add('VEX.66.0F38.W0 45 /r ; vpsrlvd Vx,Hx,Wx ; f=AVX2');
add('VEX.66.0F38.W1 45 /r ; vpsrlvq Vx,Hx,Wx ; f=AVX2');
add('VEX.66.0F38.W0 46 /r ; vpsravd Vx,Hx,Wx ; f=AVX2');
add('VEX.66.0F38.W0 47 /r ; vpsllvd Vx,Hx,Wx ; f=AVX2');
add('VEX.66.0F38.W1 47 /r ; vpsllvq Vx,Hx,Wx ; f=AVX2');
add('VEX.66.0F38.W0 58 /r ; vpbroadcastd Vx,Wd ; f=AVX2 dw');
add('VEX.66.0F38.W0 59 /r ; vpbroadcastq Vx,Wq ; f=AVX2 dw');
add('VEX.L1.66.0F38.W0 5A /r:m ; vbroadcasti128 Vqq,Mo ; f=AVX2 dw');
add('VEX.66.0F38.W0 78 /r ; vpbroadcastb Vx,Wb ; f=AVX2 dw');
add('VEX.66.0F38.W0 79 /r ; vpbroadcastw Vx,Ww ; f=AVX2 dw');
add('VEX.66.0F38.W0 8C /r:m ; vpmaskmovd Vx,Hx,Mx ; f=AVX2 dw');
add('VEX.66.0F38.W1 8C /r:m ; vpmaskmovq Vx,Hx,Mx ; f=AVX2 dw');
add('VEX.66.0F38.W0 8E /r:m ; vpmaskmovd Mx,Hx,Vx ; f=AVX2 dw');
add('VEX.66.0F38.W1 8E /r:m ; vpmaskmovq Mx,Hx,Vx ; f=AVX2 dw');
// Gathers (SDM "VPGATHERDD"...): VSIB index XMM/YMM, mask in vvvv; both dest and mask are written.
add('VEX.66.0F38.W0 90 /r:m ; vpgatherdd Vx,Mvsibd,Hx ; f=AVX2 gather');
add('VEX.66.0F38.W1 90 /r:m ; vpgatherdq Vx,Mvsibd,Hx ; f=AVX2 gather');
add('VEX.66.0F38.W0 91 /r:m ; vpgatherqd Vo,Mvsibq,Ho ; f=AVX2 gather');
add('VEX.66.0F38.W1 91 /r:m ; vpgatherqq Vx,Mvsibq,Hx ; f=AVX2 gather');
add('VEX.66.0F38.W0 92 /r:m ; vgatherdps Vx,Mvsibd,Hx ; f=AVX2 gather');
add('VEX.66.0F38.W1 92 /r:m ; vgatherdpd Vx,Mvsibd,Hx ; f=AVX2 gather');
add('VEX.66.0F38.W0 93 /r:m ; vgatherqps Vo,Mvsibq,Ho ; f=AVX2 gather');
add('VEX.66.0F38.W1 93 /r:m ; vgatherqpd Vx,Mvsibq,Hx ; f=AVX2 gather');
// FMA (SDM "VFMADD132PS..."): rows 96..9F, A6..AF, B6..BF for the 132/213/231 orders.
for (const [row, order] of [[0x90, '132'], [0xa0, '213'], [0xb0, '231']] as const) {
  const h = (n: number): string => (row + n).toString(16).toUpperCase();
  add(`VEX.66.0F38.W0 ${h(6)} /r ; vfmaddsub${order}ps Vx,Hx,Wx ; f=FMA`);
  add(`VEX.66.0F38.W1 ${h(6)} /r ; vfmaddsub${order}pd Vx,Hx,Wx ; f=FMA`);
  add(`VEX.66.0F38.W0 ${h(7)} /r ; vfmsubadd${order}ps Vx,Hx,Wx ; f=FMA`);
  add(`VEX.66.0F38.W1 ${h(7)} /r ; vfmsubadd${order}pd Vx,Hx,Wx ; f=FMA`);
  for (const [n, op] of [[8, 'fmadd'], [0xa, 'fmsub'], [0xc, 'fnmadd'], [0xe, 'fnmsub']] as const) {
    add(`VEX.66.0F38.W0 ${h(n)} /r ; v${op}${order}ps Vx,Hx,Wx ; f=FMA`);
    add(`VEX.66.0F38.W1 ${h(n)} /r ; v${op}${order}pd Vx,Hx,Wx ; f=FMA`);
    add(`VEX.LIG.66.0F38.W0 ${h(n + 1)} /r ; v${op}${order}ss Vo,Ho,Wd ; f=FMA`);
    add(`VEX.LIG.66.0F38.W1 ${h(n + 1)} /r ; v${op}${order}sd Vo,Ho,Wq ; f=FMA`);
  }
}
add('VEX.L0.66.0F38.WIG DB /r ; vaesimc Vo,Wo ; f=AES f=AVX dw');
add('VEX.L0.66.0F38.WIG DC /r ; vaesenc Vo,Ho,Wo ; f=AES f=AVX');
add('VEX.L0.66.0F38.WIG DD /r ; vaesenclast Vo,Ho,Wo ; f=AES f=AVX');
add('VEX.L0.66.0F38.WIG DE /r ; vaesdec Vo,Ho,Wo ; f=AES f=AVX');
add('VEX.L0.66.0F38.WIG DF /r ; vaesdeclast Vo,Ho,Wo ; f=AES f=AVX');
// BMI1 / BMI2 (SDM "ANDN", "BEXTR", "BLSI", ...): GPR operands, 64-bit with VEX.W1 in 64-bit mode.
add('VEX.L0.NP.0F38 F2 /r ; andn Gy,By,Ey ; f=BMI1 dw w:OSZAPC u:AP');
add('VEX.L0.NP.0F38 F3 /1 ; blsr By,Ey ; f=BMI1 dw w:OSZAPC u:AP');
add('VEX.L0.NP.0F38 F3 /2 ; blsmsk By,Ey ; f=BMI1 dw w:OSZAPC u:AP');
add('VEX.L0.NP.0F38 F3 /3 ; blsi By,Ey ; f=BMI1 dw w:OSZAPC u:AP');
add('VEX.L0.NP.0F38 F5 /r ; bzhi Gy,Ey,By ; f=BMI2 dw w:OSZAPC u:AP');
add('VEX.L0.F3.0F38 F5 /r ; pext Gy,By,Ey ; f=BMI2 dw');
add('VEX.L0.F2.0F38 F5 /r ; pdep Gy,By,Ey ; f=BMI2 dw');
add('VEX.L0.F2.0F38 F6 /r ; mulx Gy,By,Ey ; f=BMI2 dw impl=rDXy:r');
add('VEX.L0.NP.0F38 F7 /r ; bextr Gy,Ey,By ; f=BMI1 dw w:OSZAPC u:SAP');
add('VEX.L0.66.0F38 F7 /r ; shlx Gy,Ey,By ; f=BMI2 dw');
add('VEX.L0.F3.0F38 F7 /r ; sarx Gy,Ey,By ; f=BMI2 dw');
add('VEX.L0.F2.0F38 F7 /r ; shrx Gy,Ey,By ; f=BMI2 dw');

// ---- 0F3A map ------------------------------------------------------------------------------
add('VEX.L1.66.0F3A.W1 00 /r ; vpermq Vqq,Wqq,Ib ; f=AVX2 dw');
add('VEX.L1.66.0F3A.W1 01 /r ; vpermpd Vqq,Wqq,Ib ; f=AVX2 dw');
add('VEX.66.0F3A.W0 02 /r ; vpblendd Vx,Hx,Wx,Ib ; f=AVX2');
add('VEX.66.0F3A.W0 04 /r ; vpermilps Vx,Wx,Ib ; f=AVX dw');
add('VEX.66.0F3A.W0 05 /r ; vpermilpd Vx,Wx,Ib ; f=AVX dw');
add('VEX.L1.66.0F3A.W0 06 /r ; vperm2f128 Vqq,Hqq,Wqq,Ib ; f=AVX');
add('VEX.66.0F3A.WIG 08 /r ; vroundps Vx,Wx,Ib ; f=AVX dw');
add('VEX.66.0F3A.WIG 09 /r ; vroundpd Vx,Wx,Ib ; f=AVX dw');
add('VEX.LIG.66.0F3A.WIG 0A /r ; vroundss Vo,Ho,Wd,Ib ; f=AVX');
add('VEX.LIG.66.0F3A.WIG 0B /r ; vroundsd Vo,Ho,Wq,Ib ; f=AVX');
add('VEX.66.0F3A.WIG 0C /r ; vblendps Vx,Hx,Wx,Ib ; f=AVX');
add('VEX.66.0F3A.WIG 0D /r ; vblendpd Vx,Hx,Wx,Ib ; f=AVX');
packed('66', '0F3A', '0E', 'vpblendw', 'Vx,Hx,Wx,Ib', 'int');
packed('66', '0F3A', '0F', 'vpalignr', 'Vx,Hx,Wx,Ib', 'int');
add('VEX.L0.66.0F3A.WIG 14 /r ; vpextrb Eb32,Vo,Ib ; f=AVX dw');
add('VEX.L0.66.0F3A.WIG 15 /r ; vpextrw Ew32,Vo,Ib ; f=AVX dw');
add('VEX.L0.66.0F3A.W0 16 /r ; vpextrd Ey,Vo,Ib ; f=AVX dw');
add('VEX.L0.66.0F3A.W1 16 /r ; vpextrq Ey,Vo,Ib ; f=AVX dw only64');
add('VEX.L0.66.0F3A.W1 16 /r ; vpextrd Ey,Vo,Ib ; f=AVX dw no64');
add('VEX.L0.66.0F3A.WIG 17 /r ; vextractps Ed32,Vo,Ib ; f=AVX dw');
add('VEX.L1.66.0F3A.W0 18 /r ; vinsertf128 Vqq,Hqq,Wo,Ib ; f=AVX');
add('VEX.L1.66.0F3A.W0 19 /r ; vextractf128 Wo,Vqq,Ib ; f=AVX dw');
add('VEX.66.0F3A.W0 1D /r ; vcvtps2ph Wh,Vx,Ib ; f=F16C dw');
add('VEX.L0.66.0F3A.WIG 20 /r ; vpinsrb Vo,Ho,Eb32,Ib ; f=AVX');
add('VEX.L0.66.0F3A.WIG 21 /r ; vinsertps Vo,Ho,Wd,Ib ; f=AVX');
add('VEX.L0.66.0F3A.W0 22 /r ; vpinsrd Vo,Ho,Ey,Ib ; f=AVX');
add('VEX.L0.66.0F3A.W1 22 /r ; vpinsrq Vo,Ho,Ey,Ib ; f=AVX only64');
add('VEX.L0.66.0F3A.W1 22 /r ; vpinsrd Vo,Ho,Ey,Ib ; f=AVX no64');
add('VEX.L1.66.0F3A.W0 38 /r ; vinserti128 Vqq,Hqq,Wo,Ib ; f=AVX2');
add('VEX.L1.66.0F3A.W0 39 /r ; vextracti128 Wo,Vqq,Ib ; f=AVX2 dw');
add('VEX.66.0F3A.WIG 40 /r ; vdpps Vx,Hx,Wx,Ib ; f=AVX');
add('VEX.L0.66.0F3A.WIG 41 /r ; vdppd Vo,Ho,Wo,Ib ; f=AVX');
packed('66', '0F3A', '42', 'vmpsadbw', 'Vx,Hx,Wx,Ib', 'int');
add('VEX.L0.66.0F3A.WIG 44 /r ; vpclmulqdq Vo,Ho,Wo,Ib ; f=PCLMULQDQ f=AVX');
add('VEX.L1.66.0F3A.W0 46 /r ; vperm2i128 Vqq,Hqq,Wqq,Ib ; f=AVX2');
add('VEX.66.0F3A.W0 4A /r ; vblendvps Vx,Hx,Wx,Lx ; f=AVX');
add('VEX.66.0F3A.W0 4B /r ; vblendvpd Vx,Hx,Wx,Lx ; f=AVX');
packed('66', '0F3A', '4C', 'vpblendvb', 'Vx,Hx,Wx,Lx', 'int', 'notw');
add('VEX.L0.66.0F3A.W0 60 /r ; vpcmpestrm Vo,Wo,Ib ; f=AVX dr w:OSZAPC impl=EAX:r,EDX:r,XMM0:w');
add('VEX.L0.66.0F3A.W1 60 /r ; vpcmpestrm Vo,Wo,Ib ; f=AVX dr w:OSZAPC no64 impl=EAX:r,EDX:r,XMM0:w');
add('VEX.L0.66.0F3A.W1 60 /r ; vpcmpestrm64 Vo,Wo,Ib ; f=AVX dr w:OSZAPC only64 impl=RAX:r,RDX:r,XMM0:w');
add('VEX.L0.66.0F3A.W0 61 /r ; vpcmpestri Vo,Wo,Ib ; f=AVX dr w:OSZAPC impl=EAX:r,EDX:r,ECX:w');
add('VEX.L0.66.0F3A.W1 61 /r ; vpcmpestri Vo,Wo,Ib ; f=AVX dr w:OSZAPC no64 impl=EAX:r,EDX:r,ECX:w');
add('VEX.L0.66.0F3A.W1 61 /r ; vpcmpestri64 Vo,Wo,Ib ; f=AVX dr w:OSZAPC only64 impl=RAX:r,RDX:r,RCX:w');
add('VEX.L0.66.0F3A.WIG 62 /r ; vpcmpistrm Vo,Wo,Ib ; f=AVX dr w:OSZAPC impl=XMM0:w');
add('VEX.L0.66.0F3A.WIG 63 /r ; vpcmpistri Vo,Wo,Ib ; f=AVX dr w:OSZAPC impl=ECX:w');
add('VEX.L0.66.0F3A.WIG DF /r ; vaeskeygenassist Vo,Wo,Ib ; f=AES f=AVX dw');
add('VEX.L0.F2.0F3A F0 /r ; rorx Gy,Ey,Ib ; f=BMI2 dw');

export const VEX_LINES: readonly string[] = out;
