/**
 * The instruction table, part 1: legacy (non-VEX) encodings of the one-byte,
 * 0F, 0F38 and 0F3A maps and x87. Source: Intel SDM Vol. 2 Appendix A (opcode
 * maps) and the instruction pages; AMD APM Vol. 3 for AMD-specific choices
 * (this decoder follows AMD where the two differ, see decoder.ts).
 *
 * Line syntax (parsed by build.ts):
 *   OPCODE ; mnemonic OPERANDS ; ATTRIBUTES
 * OPCODE: [NP|66|F3|F2] [0F [38|3A]] byte[+r|+cc] [/digit[:m|:r] | /r[:m|:r] | /XX]
 *   NP/66/F3/F2 = mandatory-prefix column; /r = ModRM; /5 = ModRM.reg 5; :m/:r =
 *   memory/register forms only; /XX (two hex digits) = exact ModRM byte (mod 3).
 * OPERANDS: SDM Appendix A.2 style (Eb, Gv, Ib, Jz, Vx, Wx, ...), see build.ts.
 * ATTRIBUTES: see build.ts (`parseAttrs`).
 */

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'] as const;
const ALU_FLAGS: Record<(typeof ALU)[number], string> = {
  add: 'w:OSZAPC', or: 'w:OSZAPC u:A', adc: 'r:C w:OSZAPC', sbb: 'r:C w:OSZAPC', and: 'w:OSZAPC u:A',
  sub: 'w:OSZAPC', xor: 'w:OSZAPC u:A', cmp: 'w:OSZAPC dr',
};
/** SHIFT group (C0/C1/D0-D3 /0../7), SDM "RCL/RCR/ROL/ROR" and "SAL/SAR/SHL/SHR". */
const SHIFT = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'] as const;
/** Flags of shifts/rotates: a count of 0 leaves every flag alone, so all are also "read" (see types.ts). */
const SHIFT_FLAGS: Record<(typeof SHIFT)[number], string> = {
  rol: 'w:OC r:OC u:O', ror: 'w:OC r:OC u:O', rcl: 'w:OC r:OC u:O', rcr: 'w:OC r:OC u:O',
  shl: 'w:OSZAPC r:OSZAPC u:OA', shr: 'w:OSZAPC r:OSZAPC u:OA', sal: 'w:OSZAPC r:OSZAPC u:OA',
  sar: 'w:OSZAPC r:OSZAPC u:OA',
};

function aluLines(): string[] {
  const out: string[] = [];
  ALU.forEach((mn, i) => {
    const b = i * 8;
    const f = ALU_FLAGS[mn];
    const lock = mn === 'cmp' ? '' : 'lock ';
    const h = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
    out.push(`${h(b)} /r ; ${mn} Eb,Gb ; ${lock}${f}`);
    out.push(`${h(b + 1)} /r ; ${mn} Ev,Gv ; ${lock}${f}`);
    out.push(`${h(b + 2)} /r ; ${mn} Gb,Eb ; ${f}`);
    out.push(`${h(b + 3)} /r ; ${mn} Gv,Ev ; ${f}`);
    out.push(`${h(b + 4)} ; ${mn} AL,Ib ; ${f}`);
    out.push(`${h(b + 5)} ; ${mn} rAX,Iz ; ${f}`);
    out.push(`80 /${i} ; ${mn} Eb,Ib ; ${lock}${f}`);
    out.push(`81 /${i} ; ${mn} Ev,Iz ; ${lock}${f}`);
    out.push(`82 /${i} ; ${mn} Eb,Ib ; ${lock}${f} no64`);
    out.push(`83 /${i} ; ${mn} Ev,Ibs ; ${lock}${f}`);
  });
  SHIFT.forEach((mn, i) => {
    const f = SHIFT_FLAGS[mn];
    const rc = mn === 'rcl' || mn === 'rcr' ? ' r:C' : '';
    out.push(`C0 /${i} ; ${mn} Eb,Ib ; ${f}${rc}`);
    out.push(`C1 /${i} ; ${mn} Ev,Ib ; ${f}${rc}`);
    // By 1 the count is never 0: flags are really written (OF defined for count 1).
    const f1 = mn.startsWith('r') ? 'w:OC' : 'w:OSZAPC u:A';
    out.push(`D0 /${i} ; ${mn} Eb,1 ; ${f1}${rc}`);
    out.push(`D1 /${i} ; ${mn} Ev,1 ; ${f1}${rc}`);
    out.push(`D2 /${i} ; ${mn} Eb,CL ; ${f}${rc}`);
    out.push(`D3 /${i} ; ${mn} Ev,CL ; ${f}${rc}`);
  });
  return out;
}

const ONE_BYTE = `
06 ; push ES ; no64 stack d64 impl=rSP:rw
07 ; pop ES ; no64 stack d64 segload impl=rSP:rw
0E ; push CS ; no64 stack d64 impl=rSP:rw
16 ; push SS ; no64 stack d64 impl=rSP:rw
17 ; pop SS ; no64 stack d64 segload inhibit impl=rSP:rw
1E ; push DS ; no64 stack d64 impl=rSP:rw
1F ; pop DS ; no64 stack d64 segload impl=rSP:rw
27 ; daa ; no64 r:AC w:OSZAPC u:O impl=AL:rw
2F ; das ; no64 r:AC w:OSZAPC u:O impl=AL:rw
37 ; aaa ; no64 r:A w:OSZAPC u:OSZP impl=AX:rw
3F ; aas ; no64 r:A w:OSZAPC u:OSZP impl=AX:rw
40+r ; inc Zv ; no64 w:OSZAP
48+r ; dec Zv ; no64 w:OSZAP
50+r ; push Zv ; d64 stack dr impl=rSP:rw
58+r ; pop Zv ; d64 stack dw impl=rSP:rw
60 ; pusha ; no64 o16 stack impl=rSP:rw
60 ; pushad ; no64 o32 stack impl=rSP:rw
61 ; popa ; no64 o16 stack impl=rSP:rw
61 ; popad ; no64 o32 stack impl=rSP:rw
62 /r:m ; bound Gv,Ma ; no64 dr
63 /r ; arpl Evw,Gv ; no64 pm w:Z
63 /r ; movsxd Gv,Ez ; only64 dw
68 ; push Iz ; d64 stack impl=rSP:rw
69 /r ; imul Gv,Ev,Iz ; dw w:OSZAPC u:SZAP
6A ; push Ibs ; d64 stack impl=rSP:rw
6B /r ; imul Gv,Ev,Ibs ; dw w:OSZAPC u:SZAP
6C ; ins Yb,DX ; string rep io iopl r:D dw impl=aDI:rw,aCX:rw
6D ; ins Yz,DX ; string rep io iopl r:D dw impl=aDI:rw,aCX:rw
6E ; outs DX,Xb ; string rep io iopl r:D dr impl=aSI:rw,aCX:rw
6F ; outs DX,Xz ; string rep io iopl r:D dr impl=aSI:rw,aCX:rw
70+cc ; jcc Jb ; flow=jcc d64 r:cc
84 /r ; test Eb,Gb ; dr w:OSZAPC u:A
85 /r ; test Ev,Gv ; dr w:OSZAPC u:A
86 /r ; xchg Eb,Gb ; lock srw
87 /r ; xchg Ev,Gv ; lock srw
88 /r ; mov Eb,Gb ; dw
89 /r ; mov Ev,Gv ; dw
8A /r ; mov Gb,Eb ; dw
8B /r ; mov Gv,Ev ; dw
8C /r ; mov Evw,Sw ; dw
8D /r:m ; lea Gv,M ; dw
8E /r ; mov Sw,Evw ; dw segload
8F /0 ; pop Ev ; d64 stack dw impl=rSP:rw
90 ; nop ; norexb
90 ; xchg Zv,rAX ; rexb srw
F3 90 ; pause ;
91+r ; xchg Zv,rAX ; srw
98 ; cbw ; o16 impl=AX:rw
98 ; cwde ; o32 impl=EAX:rw
98 ; cdqe ; o64 impl=RAX:rw
99 ; cwd ; o16 impl=AX:r,DX:w
99 ; cdq ; o32 impl=EAX:r,EDX:w
99 ; cqo ; o64 impl=RAX:r,RDX:w
9A ; call Ap ; no64 flow=callfar stack segload impl=rSP:rw
9B ; wait ;
9C ; pushf ; d64 o16 stack r:OSZAPCDIT impl=rSP:rw
9C ; pushfd ; d64 o32 stack r:F impl=rSP:rw
9C ; pushfq ; d64 o64 stack r:F impl=rSP:rw
9D ; popf ; d64 o16 stack w:OSZAPCDIT impl=rSP:rw
9D ; popfd ; d64 o32 stack w:F impl=rSP:rw
9D ; popfq ; d64 o64 stack w:F impl=rSP:rw
9E ; sahf ; w:SZAPC impl=AH:r f=LAHF_LM64
9F ; lahf ; r:SZAPC impl=AH:w f=LAHF_LM64
A0 ; mov AL,Ob ; dw
A1 ; mov rAX,Ov ; dw
A2 ; mov Ob,AL ; dw
A3 ; mov Ov,rAX ; dw
A4 ; movs Yb,Xb ; string rep r:D dw impl=aSI:rw,aDI:rw,aCX:rw
A5 ; movs Yv,Xv ; string rep r:D dw impl=aSI:rw,aDI:rw,aCX:rw
A6 ; cmps Xb,Yb ; string repcc r:D w:OSZAPC dr impl=aSI:rw,aDI:rw,aCX:rw
A7 ; cmps Xv,Yv ; string repcc r:D w:OSZAPC dr impl=aSI:rw,aDI:rw,aCX:rw
A8 ; test AL,Ib ; dr w:OSZAPC u:A
A9 ; test rAX,Iz ; dr w:OSZAPC u:A
AA ; stos Yb,AL ; string rep r:D dw impl=aDI:rw,aCX:rw
AB ; stos Yv,rAX ; string rep r:D dw impl=aDI:rw,aCX:rw
AC ; lods AL,Xb ; string rep r:D dw impl=aSI:rw,aCX:rw
AD ; lods rAX,Xv ; string rep r:D dw impl=aSI:rw,aCX:rw
AE ; scas AL,Yb ; string repcc r:D w:OSZAPC dr impl=aDI:rw,aCX:rw
AF ; scas rAX,Yv ; string repcc r:D w:OSZAPC dr impl=aDI:rw,aCX:rw
B0+r ; mov Zb,Ib ; dw
B8+r ; mov Zv,Iv ; dw
C2 ; ret Iw ; d64 flow=ret stack impl=rSP:rw
C3 ; ret ; d64 flow=ret stack impl=rSP:rw
C4 /r:m ; les Gz,Mp ; no64 dw segload
C5 /r:m ; lds Gz,Mp ; no64 dw segload
C6 /0 ; mov Eb,Ib ; dw
C6 /F8 ; xabort Ib ; f=RTM
C7 /0 ; mov Ev,Iz ; dw
C7 /F8 ; xbegin Jz ; f=RTM flow=jcc
C8 ; enter Iw,Ib ; d64 stack impl=rSP:rw
C9 ; leave ; d64 stack impl=rSP:rw
CA ; retf Iw ; flow=retfar stack segload impl=rSP:rw
CB ; retf ; flow=retfar stack segload impl=rSP:rw
CC ; int3 ; flow=int stack r:F w:TIF impl=rSP:rw
CD ; int Ib ; flow=int stack r:F w:TIF impl=rSP:rw
CE ; into ; no64 flow=int stack r:F w:TIF impl=rSP:rw
CF ; iret ; o16 flow=iret stack w:OSZAPCDIT ser impl=rSP:rw
CF ; iretd ; o32 flow=iret stack w:F ser impl=rSP:rw
CF ; iretq ; o64 flow=iret stack w:F ser impl=rSP:rw
D4 ; aam Ib ; no64 w:OSZAPC u:OAC impl=AX:rw
D5 ; aad Ib ; no64 w:OSZAPC u:OAC impl=AX:rw
D6 ; salc ; no64 r:C impl=AL:w undoc
D7 ; xlatb ; impl=AL:rw
E0 ; loopne Jb ; d64 flow=jcc r:Z
E1 ; loope Jb ; d64 flow=jcc r:Z
E2 ; loop Jb ; d64 flow=jcc
E3 ; jcxz Jb ; d64 a16 flow=jcc
E3 ; jecxz Jb ; d64 a32 flow=jcc
E3 ; jrcxz Jb ; d64 a64 flow=jcc
E4 ; in AL,Ib ; io iopl dw
E5 ; in eAX,Ib ; io iopl dw
E6 ; out Ib,AL ; io iopl dr
E7 ; out Ib,eAX ; io iopl dr
E8 ; call Jz ; d64 flow=call stack impl=rSP:rw
E9 ; jmp Jz ; d64 flow=jmp
EA ; jmp Ap ; no64 flow=jmpfar segload
EB ; jmp Jb ; d64 flow=jmp
EC ; in AL,DX ; io iopl dw
ED ; in eAX,DX ; io iopl dw
EE ; out DX,AL ; io iopl dr
EF ; out DX,eAX ; io iopl dr
F1 ; int1 ; flow=int stack r:F w:TIF impl=rSP:rw
F4 ; hlt ; priv flow=hlt
F5 ; cmc ; r:C w:C
F6 /0 ; test Eb,Ib ; dr w:OSZAPC u:A
F6 /1 ; test Eb,Ib ; dr w:OSZAPC u:A undoc
F6 /2 ; not Eb ; lock
F6 /3 ; neg Eb ; lock w:OSZAPC
F6 /4 ; mul Eb ; dr w:OSZAPC u:SZAP impl=AX:w,AL:r
F6 /5 ; imul Eb ; dr w:OSZAPC u:SZAP impl=AX:w,AL:r
F6 /6 ; div Eb ; dr w:OSZAPC u:OSZAPC impl=AX:rw
F6 /7 ; idiv Eb ; dr w:OSZAPC u:OSZAPC impl=AX:rw
F7 /0 ; test Ev,Iz ; dr w:OSZAPC u:A
F7 /1 ; test Ev,Iz ; dr w:OSZAPC u:A undoc
F7 /2 ; not Ev ; lock
F7 /3 ; neg Ev ; lock w:OSZAPC
F7 /4 ; mul Ev ; dr w:OSZAPC u:SZAP impl=rAX:rw,rDX:w
F7 /5 ; imul Ev ; dr w:OSZAPC u:SZAP impl=rAX:rw,rDX:w
F7 /6 ; div Ev ; dr w:OSZAPC u:OSZAPC impl=rAX:rw,rDX:rw
F7 /7 ; idiv Ev ; dr w:OSZAPC u:OSZAPC impl=rAX:rw,rDX:rw
F8 ; clc ; w:C
F9 ; stc ; w:C
FA ; cli ; iopl w:I
FB ; sti ; iopl w:I inhibit
FC ; cld ; w:D
FD ; std ; w:D
FE /0 ; inc Eb ; lock w:OSZAP
FE /1 ; dec Eb ; lock w:OSZAP
FF /0 ; inc Ev ; lock w:OSZAP
FF /1 ; dec Ev ; lock w:OSZAP
FF /2 ; call Ev ; d64 flow=callind stack dr impl=rSP:rw
FF /3:m ; call Mp ; flow=callfar stack segload dr amdfar impl=rSP:rw
FF /4 ; jmp Ev ; d64 flow=jmpind dr
FF /5:m ; jmp Mp ; flow=jmpfar segload dr amdfar
FF /6 ; push Ev ; d64 stack dr impl=rSP:rw
`;

/** x87 (SDM Vol. 2 Appendix A.4, "Escape Opcode Instructions"). */
const X87 = `
D8 /0:m ; fadd Md ; x87 dr
D8 /1:m ; fmul Md ; x87 dr
D8 /2:m ; fcom Md ; x87 dr
D8 /3:m ; fcomp Md ; x87 dr
D8 /4:m ; fsub Md ; x87 dr
D8 /5:m ; fsubr Md ; x87 dr
D8 /6:m ; fdiv Md ; x87 dr
D8 /7:m ; fdivr Md ; x87 dr
D8 /0:r ; fadd ST,STi ; x87
D8 /1:r ; fmul ST,STi ; x87
D8 /2:r ; fcom ST,STi ; x87 dr
D8 /3:r ; fcomp ST,STi ; x87 dr
D8 /4:r ; fsub ST,STi ; x87
D8 /5:r ; fsubr ST,STi ; x87
D8 /6:r ; fdiv ST,STi ; x87
D8 /7:r ; fdivr ST,STi ; x87
D9 /0:m ; fld Md ; x87 dr
D9 /2:m ; fst Md ; x87 dw
D9 /3:m ; fstp Md ; x87 dw
D9 /4:m ; fldenv Me ; x87 dr
D9 /5:m ; fldcw Mw ; x87 dr
D9 /6:m ; fnstenv Me ; x87 dw
D9 /7:m ; fnstcw Mw ; x87 dw
D9 /0:r ; fld STi ; x87 dr
D9 /1:r ; fxch ST,STi ; x87 srw
D9 /D0 ; fnop ; x87
D9 /3:r ; fstpnce STi ; x87 dw undoc
D9 /E0 ; fchs ; x87
D9 /E1 ; fabs ; x87
D9 /E4 ; ftst ; x87
D9 /E5 ; fxam ; x87
D9 /E8 ; fld1 ; x87
D9 /E9 ; fldl2t ; x87
D9 /EA ; fldl2e ; x87
D9 /EB ; fldpi ; x87
D9 /EC ; fldlg2 ; x87
D9 /ED ; fldln2 ; x87
D9 /EE ; fldz ; x87
D9 /F0 ; f2xm1 ; x87
D9 /F1 ; fyl2x ; x87
D9 /F2 ; fptan ; x87
D9 /F3 ; fpatan ; x87
D9 /F4 ; fxtract ; x87
D9 /F5 ; fprem1 ; x87
D9 /F6 ; fdecstp ; x87
D9 /F7 ; fincstp ; x87
D9 /F8 ; fprem ; x87
D9 /F9 ; fyl2xp1 ; x87
D9 /FA ; fsqrt ; x87
D9 /FB ; fsincos ; x87
D9 /FC ; frndint ; x87
D9 /FD ; fscale ; x87
D9 /FE ; fsin ; x87
D9 /FF ; fcos ; x87
DA /0:m ; fiadd Md ; x87 dr
DA /1:m ; fimul Md ; x87 dr
DA /2:m ; ficom Md ; x87 dr
DA /3:m ; ficomp Md ; x87 dr
DA /4:m ; fisub Md ; x87 dr
DA /5:m ; fisubr Md ; x87 dr
DA /6:m ; fidiv Md ; x87 dr
DA /7:m ; fidivr Md ; x87 dr
DA /0:r ; fcmovb ST,STi ; x87 r:C f=CMOV
DA /1:r ; fcmove ST,STi ; x87 r:Z f=CMOV
DA /2:r ; fcmovbe ST,STi ; x87 r:CZ f=CMOV
DA /3:r ; fcmovu ST,STi ; x87 r:P f=CMOV
DA /E9 ; fucompp ; x87
DB /0:m ; fild Md ; x87 dr
DB /1:m ; fisttp Md ; x87 dw f=SSE3
DB /2:m ; fist Md ; x87 dw
DB /3:m ; fistp Md ; x87 dw
DB /5:m ; fld Mt ; x87 dr
DB /7:m ; fstp Mt ; x87 dw
DB /0:r ; fcmovnb ST,STi ; x87 r:C f=CMOV
DB /1:r ; fcmovne ST,STi ; x87 r:Z f=CMOV
DB /2:r ; fcmovnbe ST,STi ; x87 r:CZ f=CMOV
DB /3:r ; fcmovnu ST,STi ; x87 r:P f=CMOV
DB /E0 ; fneni ; x87 undoc
DB /E1 ; fndisi ; x87 undoc
DB /E2 ; fnclex ; x87
DB /E3 ; fninit ; x87
DB /E4 ; fnsetpm ; x87 undoc
DB /5:r ; fucomi ST,STi ; x87 dr w:OSZAPC
DB /6:r ; fcomi ST,STi ; x87 dr w:OSZAPC
DC /0:m ; fadd Mq ; x87 dr
DC /1:m ; fmul Mq ; x87 dr
DC /2:m ; fcom Mq ; x87 dr
DC /3:m ; fcomp Mq ; x87 dr
DC /4:m ; fsub Mq ; x87 dr
DC /5:m ; fsubr Mq ; x87 dr
DC /6:m ; fdiv Mq ; x87 dr
DC /7:m ; fdivr Mq ; x87 dr
DC /0:r ; fadd STi,ST ; x87
DC /1:r ; fmul STi,ST ; x87
DC /2:r ; fcom ST,STi ; x87 dr undoc
DC /3:r ; fcomp ST,STi ; x87 dr undoc
DC /4:r ; fsubr STi,ST ; x87
DC /5:r ; fsub STi,ST ; x87
DC /6:r ; fdivr STi,ST ; x87
DC /7:r ; fdiv STi,ST ; x87
DD /0:m ; fld Mq ; x87 dr
DD /1:m ; fisttp Mq ; x87 dw f=SSE3
DD /2:m ; fst Mq ; x87 dw
DD /3:m ; fstp Mq ; x87 dw
DD /4:m ; frstor Mfs ; x87 dr
DD /6:m ; fnsave Mfs ; x87 dw
DD /7:m ; fnstsw Mw ; x87 dw
DD /0:r ; ffree STi ; x87 dn
DD /1:r ; fxch ST,STi ; x87 srw undoc
DD /2:r ; fst STi ; x87 dw
DD /3:r ; fstp STi ; x87 dw
DD /4:r ; fucom ST,STi ; x87 dr
DD /5:r ; fucomp ST,STi ; x87 dr
DE /0:m ; fiadd Mw ; x87 dr
DE /1:m ; fimul Mw ; x87 dr
DE /2:m ; ficom Mw ; x87 dr
DE /3:m ; ficomp Mw ; x87 dr
DE /4:m ; fisub Mw ; x87 dr
DE /5:m ; fisubr Mw ; x87 dr
DE /6:m ; fidiv Mw ; x87 dr
DE /7:m ; fidivr Mw ; x87 dr
DE /0:r ; faddp STi,ST ; x87
DE /1:r ; fmulp STi,ST ; x87
DE /2:r ; fcomp ST,STi ; x87 dr undoc
DE /D9 ; fcompp ; x87
DE /4:r ; fsubrp STi,ST ; x87
DE /5:r ; fsubp STi,ST ; x87
DE /6:r ; fdivrp STi,ST ; x87
DE /7:r ; fdivp STi,ST ; x87
DF /0:m ; fild Mw ; x87 dr
DF /1:m ; fisttp Mw ; x87 dw f=SSE3
DF /2:m ; fist Mw ; x87 dw
DF /3:m ; fistp Mw ; x87 dw
DF /4:m ; fbld Mt ; x87 dr
DF /5:m ; fild Mq ; x87 dr
DF /6:m ; fbstp Mt ; x87 dw
DF /7:m ; fistp Mq ; x87 dw
DF /0:r ; ffreep STi ; x87 dn undoc
DF /1:r ; fxch ST,STi ; x87 srw undoc
DF /2:r ; fstp STi ; x87 dw undoc
DF /3:r ; fstp STi ; x87 dw undoc
DF /E0 ; fnstsw AX ; x87 dw
DF /5:r ; fucomip ST,STi ; x87 dr w:OSZAPC
DF /6:r ; fcomip ST,STi ; x87 dr w:OSZAPC
`;

/** Two-byte map (0F xx), SDM Vol. 2 Table A-3. */
const MAP_0F = `
0F 00 /0:m ; sldt Mw ; pm dw
0F 00 /0:r ; sldt Rv ; pm dw
0F 00 /1:m ; str Mw ; pm dw
0F 00 /1:r ; str Rv ; pm dw
0F 00 /2 ; lldt Evw ; pm priv dr segload
0F 00 /3 ; ltr Evw ; pm priv dr segload
0F 00 /4 ; verr Evw ; pm dr w:Z
0F 00 /5 ; verw Evw ; pm dr w:Z
0F 01 /0:m ; sgdt Ms ; dw
0F 01 /1:m ; sidt Ms ; dw
0F 01 /2:m ; lgdt Ms ; priv ser dr
0F 01 /3:m ; lidt Ms ; priv ser dr
0F 01 /4:m ; smsw Mw ; dw
0F 01 /4:r ; smsw Rv ; dw
0F 01 /6 ; lmsw Evw ; priv ser dr flow=mode
0F 01 /7:m ; invlpg Mb ; priv ser dn
NP 0F 01 /C1 ; vmcall ; f=VMX w:OSZAPC
NP 0F 01 /C2 ; vmlaunch ; f=VMX priv w:OSZAPC
NP 0F 01 /C3 ; vmresume ; f=VMX priv w:OSZAPC
NP 0F 01 /C4 ; vmxoff ; f=VMX priv w:OSZAPC
NP 0F 01 /D4 ; vmfunc ; f=VMX impl=EAX:r w:OSZAPC
NP 0F 01 /C8 ; monitor ; f=MONITOR priv impl=aAX:r,ECX:r,EDX:r
NP 0F 01 /C9 ; mwait ; f=MONITOR priv flow=hlt impl=EAX:r,ECX:r
NP 0F 01 /CA ; clac ; f=SMAP priv w:AC2
NP 0F 01 /CB ; stac ; f=SMAP priv w:AC2
NP 0F 01 /D0 ; xgetbv ; f=XSAVE sys impl=ECX:r,EDX:w,EAX:w
NP 0F 01 /D1 ; xsetbv ; f=XSAVE priv ser sys flow=mode impl=ECX:r,EDX:r,EAX:r
NP 0F 01 /D5 ; xend ; f=RTM
NP 0F 01 /D6 ; xtest ; f=RTM w:OSZAPC
0F 01 /D8 ; vmrun ; f=SVM priv impl=aAX:r r:F
0F 01 /D9 ; vmmcall ; f=SVM
0F 01 /DA ; vmload ; f=SVM priv impl=aAX:r
0F 01 /DB ; vmsave ; f=SVM priv impl=aAX:r
0F 01 /DC ; stgi ; f=SVM priv
0F 01 /DD ; clgi ; f=SVM priv
0F 01 /DE ; skinit ; f=SVM priv impl=EAX:r w:F
0F 01 /DF ; invlpga ; f=SVM priv impl=aAX:r,ECX:r
NP 0F 01 /E8 ; serialize ; f=SERIALIZE ser
NP 0F 01 /EE ; rdpkru ; f=PKU impl=ECX:r,EDX:w,EAX:w
NP 0F 01 /EF ; wrpkru ; f=PKU impl=ECX:r,EDX:r,EAX:r
0F 01 /F8 ; swapgs ; only64 priv
0F 01 /F9 ; rdtscp ; f=RDTSCP sys impl=EDX:w,EAX:w,ECX:w
NP 0F 01 /FA ; monitorx ; f=MONITORX impl=aAX:r,ECX:r,EDX:r
NP 0F 01 /FB ; mwaitx ; f=MONITORX flow=hlt impl=EAX:r,ECX:r,EBX:r
0F 01 /FC ; clzero ; f=CLZERO impl=aAX:r
NP 0F 01 /FD ; rdpru ; f=RDPRU sys impl=ECX:r,EDX:w,EAX:w w:OSZAPC
0F 02 /r ; lar Gv,Evw ; pm dw w:Z
0F 03 /r ; lsl Gv,Evw ; pm dw w:Z
0F 05 ; syscall ; f=SYSCALL flow=syscall impl=RCX:w,R11:w r:F w:F
0F 06 ; clts ; priv
0F 07 ; sysret ; f=SYSCALL priv flow=sysret notw w:F
0F 07 ; sysretq ; f=SYSCALL priv flow=sysret W1 only64 w:F
0F 08 ; invd ; priv ser
0F 09 ; wbinvd ; priv ser
F3 0F 09 ; wbnoinvd ; priv f=WBNOINVD
0F 0B ; ud2 ; flow=ud
0F 0D /0:m ; prefetch Mb ; f=PREFETCHW dn
0F 0D /1:m ; prefetchw Mb ; f=PREFETCHW dn
0F 0D /2:m ; prefetchwt1 Mb ; f=PREFETCHW dn
0F 0D /3:m ; prefetchw Mb ; f=PREFETCHW dn undoc
0F 0D /r ; nop Ev,Gv ; dn hintnop
0F 0D /4:m ; prefetch Mb ; f=PREFETCHW dn undoc
0F 0D /5:m ; prefetch Mb ; f=PREFETCHW dn undoc
0F 0D /6:m ; prefetch Mb ; f=PREFETCHW dn undoc
0F 0D /7:m ; prefetch Mb ; f=PREFETCHW dn undoc
NP 0F 10 /r ; movups Vo,Wo ; sse dw
66 0F 10 /r ; movupd Vo,Wo ; sse2 dw
F3 0F 10 /r:m ; movss Vo,Md ; sse dw
F3 0F 10 /r:r ; movss Vo,Ud ; sse
F2 0F 10 /r:m ; movsd Vo,Mq ; sse2 dw
F2 0F 10 /r:r ; movsd Vo,Uq ; sse2
NP 0F 11 /r ; movups Wo,Vo ; sse dw
66 0F 11 /r ; movupd Wo,Vo ; sse2 dw
F3 0F 11 /r ; movss Wd,Vo ; sse dwm
F2 0F 11 /r ; movsd Wq,Vo ; sse2 dwm
NP 0F 12 /r:m ; movlps Vo,Mq ; sse
NP 0F 12 /r:r ; movhlps Vo,Uo ; sse
66 0F 12 /r:m ; movlpd Vo,Mq ; sse2
F3 0F 12 /r ; movsldup Vo,Wo ; sse3 dw
F2 0F 12 /r ; movddup Vo,Wq ; sse3 dw
NP 0F 13 /r:m ; movlps Mq,Vo ; sse dw
66 0F 13 /r:m ; movlpd Mq,Vo ; sse2 dw
NP 0F 14 /r ; unpcklps Vo,Wo ; sse align
66 0F 14 /r ; unpcklpd Vo,Wo ; sse2 align
NP 0F 15 /r ; unpckhps Vo,Wo ; sse align
66 0F 15 /r ; unpckhpd Vo,Wo ; sse2 align
NP 0F 16 /r:m ; movhps Vo,Mq ; sse
NP 0F 16 /r:r ; movlhps Vo,Uo ; sse
66 0F 16 /r:m ; movhpd Vo,Mq ; sse2
F3 0F 16 /r ; movshdup Vo,Wo ; sse3 dw
NP 0F 17 /r:m ; movhps Mq,Vo ; sse dw
66 0F 17 /r:m ; movhpd Mq,Vo ; sse2 dw
0F 18 /0:m ; prefetchnta Mb ; dn
0F 18 /1:m ; prefetcht0 Mb ; dn
0F 18 /2:m ; prefetcht1 Mb ; dn
0F 18 /3:m ; prefetcht2 Mb ; dn
0F 18 /r ; nop Ev,Gv ; dn hintnop
0F 19 /r ; nop Ev,Gv ; dn hintnop
0F 1A /r ; nop Ev,Gv ; dn hintnop
0F 1B /r ; nop Ev,Gv ; dn hintnop
NP 0F 1C /0:m ; cldemote Mb ; f=CLDEMOTE dn
0F 1C /r ; nop Ev,Gv ; dn hintnop
0F 1D /r ; nop Ev,Gv ; dn hintnop
0F 1E /r ; nop Ev,Gv ; dn hintnop
F3 0F 1E /FA ; endbr64 ; f=CET_IBT
F3 0F 1E /FB ; endbr32 ; f=CET_IBT
0F 1F /0 ; nop Ev ; dn
0F 1F /r ; nop Ev,Gv ; dn hintnop
0F 20 /r ; mov Rc,Cc ; priv dw movcr modreg w:OSZAPC u:OSZAPC
0F 21 /r ; mov Rc,Dc ; priv dw movdr modreg w:OSZAPC u:OSZAPC
0F 22 /r ; mov Cc,Rc ; priv ser dw movcr modreg flow=mode w:OSZAPC u:OSZAPC
0F 23 /r ; mov Dc,Rc ; priv ser dw movdr modreg w:OSZAPC u:OSZAPC
NP 0F 28 /r ; movaps Vo,Wo ; sse align dw
66 0F 28 /r ; movapd Vo,Wo ; sse2 align dw
NP 0F 29 /r ; movaps Wo,Vo ; sse align dw
66 0F 29 /r ; movapd Wo,Vo ; sse2 align dw
NP 0F 2A /r ; cvtpi2ps Vo,Qq ; sse mmxr
66 0F 2A /r ; cvtpi2pd Vo,Qq ; sse2 mmxr dw
F3 0F 2A /r ; cvtsi2ss Vo,Ey ; sse
F2 0F 2A /r ; cvtsi2sd Vo,Ey ; sse2
NP 0F 2B /r:m ; movntps Mo,Vo ; sse align dw
66 0F 2B /r:m ; movntpd Mo,Vo ; sse2 align dw
F3 0F 2B /r:m ; movntss Md,Vo ; f=SSE4A sse dw
F2 0F 2B /r:m ; movntsd Mq,Vo ; f=SSE4A sse dw
NP 0F 2C /r ; cvttps2pi Pq,Wq ; sse mmxr dw
66 0F 2C /r ; cvttpd2pi Pq,Wo ; sse2 mmxr align dw
F3 0F 2C /r ; cvttss2si Gy,Wd ; sse dw
F2 0F 2C /r ; cvttsd2si Gy,Wq ; sse2 dw
NP 0F 2D /r ; cvtps2pi Pq,Wq ; sse mmxr dw
66 0F 2D /r ; cvtpd2pi Pq,Wo ; sse2 mmxr align dw
F3 0F 2D /r ; cvtss2si Gy,Wd ; sse dw
F2 0F 2D /r ; cvtsd2si Gy,Wq ; sse2 dw
NP 0F 2E /r ; ucomiss Vo,Wd ; sse dr w:OSZAPC
66 0F 2E /r ; ucomisd Vo,Wq ; sse2 dr w:OSZAPC
NP 0F 2F /r ; comiss Vo,Wd ; sse dr w:OSZAPC
66 0F 2F /r ; comisd Vo,Wq ; sse2 dr w:OSZAPC
0F 30 ; wrmsr ; priv ser sys flow=mode impl=ECX:r,EDX:r,EAX:r
0F 31 ; rdtsc ; sys impl=EDX:w,EAX:w
0F 32 ; rdmsr ; priv sys impl=ECX:r,EDX:w,EAX:w
0F 33 ; rdpmc ; sys impl=ECX:r,EDX:w,EAX:w
0F 34 ; sysenter ; f=SYSENTER flow=syscall w:IF
0F 35 ; sysexit ; f=SYSENTER priv flow=sysret notw
0F 35 ; sysexitq ; f=SYSENTER priv flow=sysret W1 only64
0F 40+cc /r ; cmovcc Gv,Ev ; f=CMOV r:cc dwc
NP 0F 50 /r:r ; movmskps Gy,Uo ; sse dw
66 0F 50 /r:r ; movmskpd Gy,Uo ; sse2 dw
NP 0F 51 /r ; sqrtps Vo,Wo ; sse align dw
66 0F 51 /r ; sqrtpd Vo,Wo ; sse2 align dw
F3 0F 51 /r ; sqrtss Vo,Wd ; sse
F2 0F 51 /r ; sqrtsd Vo,Wq ; sse2
NP 0F 52 /r ; rsqrtps Vo,Wo ; sse align dw
F3 0F 52 /r ; rsqrtss Vo,Wd ; sse
NP 0F 53 /r ; rcpps Vo,Wo ; sse align dw
F3 0F 53 /r ; rcpss Vo,Wd ; sse
NP 0F 54 /r ; andps Vo,Wo ; sse align
66 0F 54 /r ; andpd Vo,Wo ; sse2 align
NP 0F 55 /r ; andnps Vo,Wo ; sse align
66 0F 55 /r ; andnpd Vo,Wo ; sse2 align
NP 0F 56 /r ; orps Vo,Wo ; sse align
66 0F 56 /r ; orpd Vo,Wo ; sse2 align
NP 0F 57 /r ; xorps Vo,Wo ; sse align
66 0F 57 /r ; xorpd Vo,Wo ; sse2 align
NP 0F 58 /r ; addps Vo,Wo ; sse align
66 0F 58 /r ; addpd Vo,Wo ; sse2 align
F3 0F 58 /r ; addss Vo,Wd ; sse
F2 0F 58 /r ; addsd Vo,Wq ; sse2
NP 0F 59 /r ; mulps Vo,Wo ; sse align
66 0F 59 /r ; mulpd Vo,Wo ; sse2 align
F3 0F 59 /r ; mulss Vo,Wd ; sse
F2 0F 59 /r ; mulsd Vo,Wq ; sse2
NP 0F 5A /r ; cvtps2pd Vo,Wq ; sse2 dw
66 0F 5A /r ; cvtpd2ps Vo,Wo ; sse2 align dw
F3 0F 5A /r ; cvtss2sd Vo,Wd ; sse2
F2 0F 5A /r ; cvtsd2ss Vo,Wq ; sse2
NP 0F 5B /r ; cvtdq2ps Vo,Wo ; sse2 align dw
66 0F 5B /r ; cvtps2dq Vo,Wo ; sse2 align dw
F3 0F 5B /r ; cvttps2dq Vo,Wo ; sse2 align dw
NP 0F 5C /r ; subps Vo,Wo ; sse align
66 0F 5C /r ; subpd Vo,Wo ; sse2 align
F3 0F 5C /r ; subss Vo,Wd ; sse
F2 0F 5C /r ; subsd Vo,Wq ; sse2
NP 0F 5D /r ; minps Vo,Wo ; sse align
66 0F 5D /r ; minpd Vo,Wo ; sse2 align
F3 0F 5D /r ; minss Vo,Wd ; sse
F2 0F 5D /r ; minsd Vo,Wq ; sse2
NP 0F 5E /r ; divps Vo,Wo ; sse align
66 0F 5E /r ; divpd Vo,Wo ; sse2 align
F3 0F 5E /r ; divss Vo,Wd ; sse
F2 0F 5E /r ; divsd Vo,Wq ; sse2
NP 0F 5F /r ; maxps Vo,Wo ; sse align
66 0F 5F /r ; maxpd Vo,Wo ; sse2 align
F3 0F 5F /r ; maxss Vo,Wd ; sse
F2 0F 5F /r ; maxsd Vo,Wq ; sse2
NP 0F 6E /r ; movd Pq,Ey ; mmx dw notw
NP 0F 6E /r ; movq Pq,Ey ; mmx dw W1 only64
66 0F 6E /r ; movd Vo,Ey ; sse2 dw notw
66 0F 6E /r ; movq Vo,Ey ; sse2 dw W1 only64
NP 0F 6F /r ; movq Pq,Qq ; mmx dw
66 0F 6F /r ; movdqa Vo,Wo ; sse2 align dw
F3 0F 6F /r ; movdqu Vo,Wo ; sse2 dw
NP 0F 70 /r ; pshufw Pq,Qq,Ib ; mmx sse dw
66 0F 70 /r ; pshufd Vo,Wo,Ib ; sse2 align dw
F3 0F 70 /r ; pshufhw Vo,Wo,Ib ; sse2 align dw
F2 0F 70 /r ; pshuflw Vo,Wo,Ib ; sse2 align dw
NP 0F 71 /2:r ; psrlw Nq,Ib ; mmx
66 0F 71 /2:r ; psrlw Uo,Ib ; sse2
NP 0F 71 /4:r ; psraw Nq,Ib ; mmx
66 0F 71 /4:r ; psraw Uo,Ib ; sse2
NP 0F 71 /6:r ; psllw Nq,Ib ; mmx
66 0F 71 /6:r ; psllw Uo,Ib ; sse2
NP 0F 72 /2:r ; psrld Nq,Ib ; mmx
66 0F 72 /2:r ; psrld Uo,Ib ; sse2
NP 0F 72 /4:r ; psrad Nq,Ib ; mmx
66 0F 72 /4:r ; psrad Uo,Ib ; sse2
NP 0F 72 /6:r ; pslld Nq,Ib ; mmx
66 0F 72 /6:r ; pslld Uo,Ib ; sse2
NP 0F 73 /2:r ; psrlq Nq,Ib ; mmx
66 0F 73 /2:r ; psrlq Uo,Ib ; sse2
66 0F 73 /3:r ; psrldq Uo,Ib ; sse2
NP 0F 73 /6:r ; psllq Nq,Ib ; mmx
66 0F 73 /6:r ; psllq Uo,Ib ; sse2
66 0F 73 /7:r ; pslldq Uo,Ib ; sse2
NP 0F 77 ; emms ; mmx
NP 0F 78 /r ; vmread EF,GF ; f=VMX priv dw w:OSZAPC
66 0F 78 /0:r ; extrq Uo,Ib,Ib ; f=SSE4A sse
F2 0F 78 /r:r ; insertq Vo,Uo,Ib,Ib ; f=SSE4A sse
NP 0F 79 /r ; vmwrite GF,EF ; f=VMX priv dw w:OSZAPC
66 0F 79 /r:r ; extrq Vo,Uo ; f=SSE4A sse
F2 0F 79 /r:r ; insertq Vo,Uo ; f=SSE4A sse
66 0F 7C /r ; haddpd Vo,Wo ; sse3 align
F2 0F 7C /r ; haddps Vo,Wo ; sse3 align
66 0F 7D /r ; hsubpd Vo,Wo ; sse3 align
F2 0F 7D /r ; hsubps Vo,Wo ; sse3 align
NP 0F 7E /r ; movd Ey,Pq ; mmx dw notw
NP 0F 7E /r ; movq Ey,Pq ; mmx dw W1 only64
66 0F 7E /r ; movd Ey,Vo ; sse2 dw notw
66 0F 7E /r ; movq Ey,Vo ; sse2 dw W1 only64
F3 0F 7E /r ; movq Vo,Wq ; sse2 dw
NP 0F 7F /r ; movq Qq,Pq ; mmx dw
66 0F 7F /r ; movdqa Wo,Vo ; sse2 align dw
F3 0F 7F /r ; movdqu Wo,Vo ; sse2 dw
0F 80+cc ; jcc Jz ; flow=jcc d64 r:cc
0F 90+cc /r ; setcc Eb ; r:cc dw
0F A0 ; push FS ; d64 stack impl=rSP:rw
0F A1 ; pop FS ; d64 stack segload impl=rSP:rw
0F A2 ; cpuid ; ser sys impl=EAX:rw,ECX:rw,EBX:w,EDX:w
0F A3 /r ; bt Ev,Gv ; dr w:OSAPC u:OSAP
0F A4 /r ; shld Ev,Gv,Ib ; w:OSZAPC r:OSZAPC u:OA
0F A5 /r ; shld Ev,Gv,CL ; w:OSZAPC r:OSZAPC u:OA
0F A8 ; push GS ; d64 stack impl=rSP:rw
0F A9 ; pop GS ; d64 stack segload impl=rSP:rw
0F AA ; rsm ; flow=mode w:F
0F AB /r ; bts Ev,Gv ; lock w:OSAPC u:OSAP
0F AC /r ; shrd Ev,Gv,Ib ; w:OSZAPC r:OSZAPC u:OA
0F AD /r ; shrd Ev,Gv,CL ; w:OSZAPC r:OSZAPC u:OA
NP 0F AE /0:m ; fxsave Mfx ; f=FXSR dw notw
NP 0F AE /0:m ; fxsave64 Mfx ; f=FXSR dw W1 only64
NP 0F AE /1:m ; fxrstor Mfx ; f=FXSR dr notw
NP 0F AE /1:m ; fxrstor64 Mfx ; f=FXSR dr W1 only64
NP 0F AE /2:m ; ldmxcsr Md ; sse dr
NP 0F AE /3:m ; stmxcsr Md ; sse dw
NP 0F AE /4:m ; xsave Mxs ; f=XSAVE dw notw varsize impl=EDX:r,EAX:r
NP 0F AE /4:m ; xsave64 Mxs ; f=XSAVE dw W1 only64 varsize impl=EDX:r,EAX:r
NP 0F AE /5:m ; xrstor Mxs ; f=XSAVE dr notw varsize impl=EDX:r,EAX:r
NP 0F AE /5:m ; xrstor64 Mxs ; f=XSAVE dr W1 only64 varsize impl=EDX:r,EAX:r
NP 0F AE /6:m ; xsaveopt Mxs ; f=XSAVEOPT dw notw varsize impl=EDX:r,EAX:r
NP 0F AE /6:m ; xsaveopt64 Mxs ; f=XSAVEOPT dw W1 only64 varsize impl=EDX:r,EAX:r
66 0F AE /6:m ; clwb Mb ; f=CLWB dn
NP 0F AE /7:m ; clflush Mb ; f=CLFSH dn
66 0F AE /7:m ; clflushopt Mb ; f=CLFLUSHOPT dn
NP 0F AE /5:r ; lfence ; sse2
NP 0F AE /6:r ; mfence ; sse2
NP 0F AE /7:r ; sfence ; sse
# F3 0F AE /5 (INCSSP) is LFENCE space: without CET shadow stacks it does nothing (SDM Vol. 1 §18.3).
F3 0F AE /5:r ; nop Ry ; dn hintnop
F3 0F AE /0:r ; rdfsbase Ry ; f=FSGSBASE only64 dw
F3 0F AE /1:r ; rdgsbase Ry ; f=FSGSBASE only64 dw
F3 0F AE /2:r ; wrfsbase Ry ; f=FSGSBASE only64 dr
F3 0F AE /3:r ; wrgsbase Ry ; f=FSGSBASE only64 dr
0F AF /r ; imul Gv,Ev ; w:OSZAPC u:SZAP
0F B0 /r ; cmpxchg Eb,Gb ; lock w:OSZAPC impl=AL:rw
0F B1 /r ; cmpxchg Ev,Gv ; lock w:OSZAPC impl=rAX:rw
0F B2 /r:m ; lss Gv,Mp ; dw segload inhibit amdfar
0F B3 /r ; btr Ev,Gv ; lock w:OSAPC u:OSAP
0F B4 /r:m ; lfs Gv,Mp ; dw segload amdfar
0F B5 /r:m ; lgs Gv,Mp ; dw segload amdfar
0F B6 /r ; movzx Gv,Eb ; dw
0F B7 /r ; movzx Gv,Ew ; dw
F3 0F B8 /r ; popcnt Gv,Ev ; f=POPCNT dw w:OSZAPC
0F B9 /r ; ud1 Gv,Ev ; flow=ud dn
0F BA /4 ; bt Ev,Ib ; dr w:OSAPC u:OSAP
0F BA /5 ; bts Ev,Ib ; lock w:OSAPC u:OSAP
0F BA /6 ; btr Ev,Ib ; lock w:OSAPC u:OSAP
0F BA /7 ; btc Ev,Ib ; lock w:OSAPC u:OSAP
0F BB /r ; btc Ev,Gv ; lock w:OSAPC u:OSAP
0F BC /r ; bsf Gv,Ev ; w:OSZAPC u:OSAPC dwc
F3 0F BC /r ; tzcnt Gv,Ev ; f=BMI1 dw w:OSZAPC u:OSAP
0F BD /r ; bsr Gv,Ev ; w:OSZAPC u:OSAPC dwc
F3 0F BD /r ; lzcnt Gv,Ev ; f=LZCNT dw w:OSZAPC u:OSAP
0F BE /r ; movsx Gv,Eb ; dw
0F BF /r ; movsx Gv,Ew ; dw
0F C0 /r ; xadd Eb,Gb ; lock srw w:OSZAPC
0F C1 /r ; xadd Ev,Gv ; lock srw w:OSZAPC
NP 0F C2 /r ; cmpps Vo,Wo,Ib ; sse align
66 0F C2 /r ; cmppd Vo,Wo,Ib ; sse2 align
F3 0F C2 /r ; cmpss Vo,Wd,Ib ; sse
F2 0F C2 /r ; cmpsd Vo,Wq,Ib ; sse2
NP 0F C3 /r:m ; movnti My,Gy ; sse2 dw
NP 0F C4 /r ; pinsrw Pq,Ew32,Ib ; mmx sse
66 0F C4 /r ; pinsrw Vo,Ew32,Ib ; sse2
NP 0F C5 /r:r ; pextrw Gy,Nq,Ib ; mmx sse dw
66 0F C5 /r:r ; pextrw Gy,Uo,Ib ; sse2 dw
NP 0F C6 /r ; shufps Vo,Wo,Ib ; sse align
66 0F C6 /r ; shufpd Vo,Wo,Ib ; sse2 align
0F C7 /1:m ; cmpxchg8b Mq ; lock notw w:Z impl=EDX:rw,EAX:rw,ECX:r,EBX:r f=CX8
0F C7 /1:m ; cmpxchg16b Mo ; lock W1 only64 w:Z impl=RDX:rw,RAX:rw,RCX:r,RBX:r f=CX16
NP 0F C7 /3:m ; xrstors Mxs ; f=XSAVES priv dr notw varsize impl=EDX:r,EAX:r
NP 0F C7 /3:m ; xrstors64 Mxs ; f=XSAVES priv dr W1 only64 varsize impl=EDX:r,EAX:r
NP 0F C7 /4:m ; xsavec Mxs ; f=XSAVEC dw notw varsize impl=EDX:r,EAX:r
NP 0F C7 /4:m ; xsavec64 Mxs ; f=XSAVEC dw W1 only64 varsize impl=EDX:r,EAX:r
NP 0F C7 /5:m ; xsaves Mxs ; f=XSAVES priv dw notw varsize impl=EDX:r,EAX:r
NP 0F C7 /5:m ; xsaves64 Mxs ; f=XSAVES priv dw W1 only64 varsize impl=EDX:r,EAX:r
NP 0F C7 /6:m ; vmptrld Mq ; f=VMX priv dr w:OSZAPC
66 0F C7 /6:m ; vmclear Mq ; f=VMX priv dr w:OSZAPC
F3 0F C7 /6:m ; vmxon Mq ; f=VMX priv dr w:OSZAPC
NP 0F C7 /7:m ; vmptrst Mq ; f=VMX priv dw w:OSZAPC
0F C7 /6:r ; rdrand Rv ; f=RDRAND dw w:OSZAPC
F3 0F C7 /6:r ; invalid ;
F2 0F C7 /6:r ; invalid ;
F2 0F C7 /7:r ; invalid ;
0F C7 /7:r ; rdseed Rv ; f=RDSEED dw w:OSZAPC
F3 0F C7 /7:r ; rdpid RF ; f=RDPID dw
0F C8+r ; bswap Zv ; dw
66 0F D0 /r ; addsubpd Vo,Wo ; sse3 align
F2 0F D0 /r ; addsubps Vo,Wo ; sse3 align
66 0F D6 /r ; movq Wq,Vo ; sse2 dw
F3 0F D6 /r:r ; movq2dq Vo,Nq ; sse2 mmxr dw
F2 0F D6 /r:r ; movdq2q Pq,Uo ; sse2 mmxr dw
NP 0F D7 /r:r ; pmovmskb Gy,Nq ; mmx sse dw
66 0F D7 /r:r ; pmovmskb Gy,Uo ; sse2 dw
66 0F E6 /r ; cvttpd2dq Vo,Wo ; sse2 align dw
F3 0F E6 /r ; cvtdq2pd Vo,Wq ; sse2 dw
F2 0F E6 /r ; cvtpd2dq Vo,Wo ; sse2 align dw
NP 0F E7 /r:m ; movntq Mq,Pq ; mmx sse dw
66 0F E7 /r:m ; movntdq Mo,Vo ; sse2 align dw
F2 0F F0 /r:m ; lddqu Vo,Mo ; sse3 dw
NP 0F F7 /r:r ; maskmovq Pq,Nq ; mmx sse dr impl=DSDI:w
66 0F F7 /r:r ; maskmovdqu Vo,Uo ; sse2 dr impl=DSDI:w
0F FF ; ud0 ; flow=ud
`;

/**
 * MMX/SSE2 integer ops sharing the NP (MMX, Pq,Qq) / 66 (SSE2, Vo,Wo) columns.
 * [opcode, mnemonic, mmx-source-size ('q', or 'd' for the low-half unpacks), flags]
 */
const MMX_SSE2: ReadonlyArray<readonly [string, string, string]> = [
  ['60', 'punpcklbw', 'd'], ['61', 'punpcklwd', 'd'], ['62', 'punpckldq', 'd'], ['63', 'packsswb', 'q'],
  ['64', 'pcmpgtb', 'q'], ['65', 'pcmpgtw', 'q'], ['66', 'pcmpgtd', 'q'], ['67', 'packuswb', 'q'],
  ['68', 'punpckhbw', 'q'], ['69', 'punpckhwd', 'q'], ['6A', 'punpckhdq', 'q'], ['6B', 'packssdw', 'q'],
  ['74', 'pcmpeqb', 'q'], ['75', 'pcmpeqw', 'q'], ['76', 'pcmpeqd', 'q'],
  ['D1', 'psrlw', 'q'], ['D2', 'psrld', 'q'], ['D3', 'psrlq', 'q'], ['D4', 'paddq', 'q'], ['D5', 'pmullw', 'q'],
  ['D8', 'psubusb', 'q'], ['D9', 'psubusw', 'q'], ['DA', 'pminub', 'q'], ['DB', 'pand', 'q'],
  ['DC', 'paddusb', 'q'], ['DD', 'paddusw', 'q'], ['DE', 'pmaxub', 'q'], ['DF', 'pandn', 'q'],
  ['E0', 'pavgb', 'q'], ['E1', 'psraw', 'q'], ['E2', 'psrad', 'q'], ['E3', 'pavgw', 'q'], ['E4', 'pmulhuw', 'q'],
  ['E5', 'pmulhw', 'q'], ['E8', 'psubsb', 'q'], ['E9', 'psubsw', 'q'], ['EA', 'pminsw', 'q'], ['EB', 'por', 'q'],
  ['EC', 'paddsb', 'q'], ['ED', 'paddsw', 'q'], ['EE', 'pmaxsw', 'q'], ['EF', 'pxor', 'q'],
  ['F1', 'psllw', 'q'], ['F2', 'pslld', 'q'], ['F3', 'psllq', 'q'], ['F4', 'pmuludq', 'q'], ['F5', 'pmaddwd', 'q'],
  ['F6', 'psadbw', 'q'], ['F8', 'psubb', 'q'], ['F9', 'psubw', 'q'], ['FA', 'psubd', 'q'], ['FB', 'psubq', 'q'],
  ['FC', 'paddb', 'q'], ['FD', 'paddw', 'q'], ['FE', 'paddd', 'q'],
];
/** MMX forms that are SSE (or SSE2) additions (need the SSE feature, SDM "SSE integer instructions"). */
const MMX_NEEDS_SSE = new Set(['pminub', 'pmaxub', 'pavgb', 'pavgw', 'pmulhuw', 'pminsw', 'pmaxsw', 'psadbw']);
const MMX_NEEDS_SSE2 = new Set(['paddq', 'psubq', 'pmuludq']);

function mmxSse2Lines(): string[] {
  const out: string[] = [];
  for (const [op, mn, src] of MMX_SSE2) {
    const extra = MMX_NEEDS_SSE.has(mn) ? ' sse' : MMX_NEEDS_SSE2.has(mn) ? ' sse2' : '';
    out.push(`NP 0F ${op} /r ; ${mn} Pq,Q${src} ; mmx${extra}`);
    out.push(`66 0F ${op} /r ; ${mn} Vo,Wo ; sse2 align`);
  }
  out.push('66 0F 6C /r ; punpcklqdq Vo,Wo ; sse2 align');
  out.push('66 0F 6D /r ; punpckhqdq Vo,Wo ; sse2 align');
  return out;
}

/** 0F 38 map (SDM Table A-4). */
const MAP_0F38 = `
66 0F 38 10 /r ; pblendvb Vo,Wo ; sse41 align impl=XMM0:r
66 0F 38 14 /r ; blendvps Vo,Wo ; sse41 align impl=XMM0:r
66 0F 38 15 /r ; blendvpd Vo,Wo ; sse41 align impl=XMM0:r
66 0F 38 17 /r ; ptest Vo,Wo ; sse41 align dr w:OSZAPC
66 0F 38 20 /r ; pmovsxbw Vo,Wq ; sse41 dw
66 0F 38 21 /r ; pmovsxbd Vo,Wd ; sse41 dw
66 0F 38 22 /r ; pmovsxbq Vo,Ww ; sse41 dw
66 0F 38 23 /r ; pmovsxwd Vo,Wq ; sse41 dw
66 0F 38 24 /r ; pmovsxwq Vo,Wd ; sse41 dw
66 0F 38 25 /r ; pmovsxdq Vo,Wq ; sse41 dw
66 0F 38 28 /r ; pmuldq Vo,Wo ; sse41 align
66 0F 38 29 /r ; pcmpeqq Vo,Wo ; sse41 align
66 0F 38 2A /r:m ; movntdqa Vo,Mo ; sse41 align dw
66 0F 38 2B /r ; packusdw Vo,Wo ; sse41 align
66 0F 38 30 /r ; pmovzxbw Vo,Wq ; sse41 dw
66 0F 38 31 /r ; pmovzxbd Vo,Wd ; sse41 dw
66 0F 38 32 /r ; pmovzxbq Vo,Ww ; sse41 dw
66 0F 38 33 /r ; pmovzxwd Vo,Wq ; sse41 dw
66 0F 38 34 /r ; pmovzxwq Vo,Wd ; sse41 dw
66 0F 38 35 /r ; pmovzxdq Vo,Wq ; sse41 dw
66 0F 38 37 /r ; pcmpgtq Vo,Wo ; sse42 align
66 0F 38 38 /r ; pminsb Vo,Wo ; sse41 align
66 0F 38 39 /r ; pminsd Vo,Wo ; sse41 align
66 0F 38 3A /r ; pminuw Vo,Wo ; sse41 align
66 0F 38 3B /r ; pminud Vo,Wo ; sse41 align
66 0F 38 3C /r ; pmaxsb Vo,Wo ; sse41 align
66 0F 38 3D /r ; pmaxsd Vo,Wo ; sse41 align
66 0F 38 3E /r ; pmaxuw Vo,Wo ; sse41 align
66 0F 38 3F /r ; pmaxud Vo,Wo ; sse41 align
66 0F 38 40 /r ; pmulld Vo,Wo ; sse41 align
66 0F 38 41 /r ; phminposuw Vo,Wo ; sse41 align dw
66 0F 38 80 /r:m ; invept GF,Mo ; f=VMX priv dr w:OSZAPC
66 0F 38 81 /r:m ; invvpid GF,Mo ; f=VMX priv dr w:OSZAPC
66 0F 38 82 /r:m ; invpcid GF,Mo ; f=INVPCID priv dr
NP 0F 38 C8 /r ; sha1nexte Vo,Wo ; f=SHA sse align
NP 0F 38 C9 /r ; sha1msg1 Vo,Wo ; f=SHA sse align
NP 0F 38 CA /r ; sha1msg2 Vo,Wo ; f=SHA sse align
NP 0F 38 CB /r ; sha256rnds2 Vo,Wo ; f=SHA sse align impl=XMM0:r
NP 0F 38 CC /r ; sha256msg1 Vo,Wo ; f=SHA sse align
NP 0F 38 CD /r ; sha256msg2 Vo,Wo ; f=SHA sse align
66 0F 38 DB /r ; aesimc Vo,Wo ; f=AES sse align dw
66 0F 38 DC /r ; aesenc Vo,Wo ; f=AES sse align
66 0F 38 DD /r ; aesenclast Vo,Wo ; f=AES sse align
66 0F 38 DE /r ; aesdec Vo,Wo ; f=AES sse align
66 0F 38 DF /r ; aesdeclast Vo,Wo ; f=AES sse align
0F 38 F0 /r:m ; movbe Gv,Mv ; f=MOVBE dw
0F 38 F1 /r:m ; movbe Mv,Gv ; f=MOVBE dw
F3 0F 38 F0 /r ; invalid ;
F3 0F 38 F1 /r ; invalid ;
F2 0F 38 F0 /r ; crc32 Gy,Eb ; sse42
F2 0F 38 F1 /r ; crc32 Gy,Ev ; sse42
66 0F 38 F6 /r ; adcx Gy,Ey ; f=ADX r:C w:C
F3 0F 38 F6 /r ; adox Gy,Ey ; f=ADX r:O w:O
66 0F 38 F8 /r:m ; movdir64b Gasz,Mc ; f=MOVDIR64B dr impl=ESDI:w
NP 0F 38 F9 /r:m ; movdiri My,Gy ; f=MOVDIRI dw
`;

/** SSSE3 ops with NP (MMX) and 66 (XMM) columns. */
const SSSE3: ReadonlyArray<readonly [string, string]> = [
  ['00', 'pshufb'], ['01', 'phaddw'], ['02', 'phaddd'], ['03', 'phaddsw'], ['04', 'pmaddubsw'], ['05', 'phsubw'],
  ['06', 'phsubd'], ['07', 'phsubsw'], ['08', 'psignb'], ['09', 'psignw'], ['0A', 'psignd'], ['0B', 'pmulhrsw'],
  ['1C', 'pabsb'], ['1D', 'pabsw'], ['1E', 'pabsd'],
];

function ssse3Lines(): string[] {
  const out: string[] = [];
  for (const [op, mn] of SSSE3) {
    const dw = mn.startsWith('pabs') ? ' dw' : '';
    out.push(`NP 0F 38 ${op} /r ; ${mn} Pq,Qq ; ssse3 mmx${dw}`);
    out.push(`66 0F 38 ${op} /r ; ${mn} Vo,Wo ; ssse3 align${dw}`);
  }
  out.push('NP 0F 3A 0F /r ; palignr Pq,Qq,Ib ; ssse3 mmx');
  out.push('66 0F 3A 0F /r ; palignr Vo,Wo,Ib ; ssse3 align');
  return out;
}

/** 0F 3A map (SDM Table A-5). */
const MAP_0F3A = `
66 0F 3A 08 /r ; roundps Vo,Wo,Ib ; sse41 align dw
66 0F 3A 09 /r ; roundpd Vo,Wo,Ib ; sse41 align dw
66 0F 3A 0A /r ; roundss Vo,Wd,Ib ; sse41
66 0F 3A 0B /r ; roundsd Vo,Wq,Ib ; sse41
66 0F 3A 0C /r ; blendps Vo,Wo,Ib ; sse41 align
66 0F 3A 0D /r ; blendpd Vo,Wo,Ib ; sse41 align
66 0F 3A 0E /r ; pblendw Vo,Wo,Ib ; sse41 align
66 0F 3A 14 /r ; pextrb Eb32,Vo,Ib ; sse41 dw
66 0F 3A 15 /r ; pextrw Ew32,Vo,Ib ; sse41 dw
66 0F 3A 16 /r ; pextrd Ey,Vo,Ib ; sse41 dw notw
66 0F 3A 16 /r ; pextrq Ey,Vo,Ib ; sse41 dw W1 only64
66 0F 3A 17 /r ; extractps Ed32,Vo,Ib ; sse41 dw
66 0F 3A 20 /r ; pinsrb Vo,Eb32,Ib ; sse41
66 0F 3A 21 /r ; insertps Vo,Wd,Ib ; sse41
66 0F 3A 22 /r ; pinsrd Vo,Ey,Ib ; sse41 notw
66 0F 3A 22 /r ; pinsrq Vo,Ey,Ib ; sse41 W1 only64
66 0F 3A 40 /r ; dpps Vo,Wo,Ib ; sse41 align
66 0F 3A 41 /r ; dppd Vo,Wo,Ib ; sse41 align
66 0F 3A 42 /r ; mpsadbw Vo,Wo,Ib ; sse41 align
66 0F 3A 44 /r ; pclmulqdq Vo,Wo,Ib ; f=PCLMULQDQ sse align
66 0F 3A 60 /r ; pcmpestrm Vo,Wo,Ib ; sse42 dr w:OSZAPC notw impl=EAX:r,EDX:r,XMM0:w
66 0F 3A 60 /r ; pcmpestrm64 Vo,Wo,Ib ; sse42 dr w:OSZAPC W1 only64 impl=RAX:r,RDX:r,XMM0:w
66 0F 3A 61 /r ; pcmpestri Vo,Wo,Ib ; sse42 dr w:OSZAPC notw impl=EAX:r,EDX:r,ECX:w
66 0F 3A 61 /r ; pcmpestri64 Vo,Wo,Ib ; sse42 dr w:OSZAPC W1 only64 impl=RAX:r,RDX:r,RCX:w
66 0F 3A 62 /r ; pcmpistrm Vo,Wo,Ib ; sse42 dr w:OSZAPC impl=XMM0:w
66 0F 3A 63 /r ; pcmpistri Vo,Wo,Ib ; sse42 dr w:OSZAPC impl=ECX:w
NP 0F 3A CC /r ; sha1rnds4 Vo,Wo,Ib ; f=SHA sse align
66 0F 3A DF /r ; aeskeygenassist Vo,Wo,Ib ; f=AES sse align dw
`;

function lines(s: string): string[] {
  return s.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
}

/** All legacy-encoded lines of the table. */
export const LEGACY_LINES: readonly string[] = [
  ...aluLines(), ...lines(ONE_BYTE), ...lines(X87), ...lines(MAP_0F), ...mmxSse2Lines(),
  ...lines(MAP_0F38), ...ssse3Lines(), ...lines(MAP_0F3A),
];
