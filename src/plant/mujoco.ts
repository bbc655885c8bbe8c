/**
 * MuJoCo plants (mujoco-js, MuJoCo 3.3 in WebAssembly) for the project's MJCF models in models/mjcf.
 * MuJoCo is an independent physics engine, so fitting models/continuous to its trajectories is real
 * system identification (its joints, integrator and actuation are not our equations).
 *
 * Each supported kind has a mapping between MuJoCo's qpos/qvel and the models/continuous state, and
 * between MuJoCo's model fields and the physical parameters (see the comments in each MJCF file):
 *
 *   pendulum   x = [qpos(pivot), qvel(pivot)]                          θ: m, l, g, b
 *   cartpole   x = [qpos(cart_joint), qvel(cart_joint), qpos(pole_joint), qvel(pole_joint)]   θ: mc, mp, l, g
 *   diffdrive  x = [qpos(x), qpos(y), qpos(yaw), v (velocity along the heading), qvel(yaw)]   θ: tau_v, tau_omega
 *
 * Pitfalls handled here (../shared/notes/mujoco.md): the wasm memory may grow and invalidate typed
 * views, so every qpos/qvel/ctrl access reads the property fresh; each MJCF sets `<size memory>` so
 * that many plants fit in the 2 GB wasm heap; MuJoCo's CppException (only a type name) is turned into
 * a readable error after a well-formedness check of the XML that points at the line.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlantBase, type PlantOptions } from './plant.js';
import { createRng } from '../common/rng.js';

// mujoco-js has loose types (many fields are `any`); the small surface used here is typed locally.
interface MjVec { [i: number]: number; length: number }
interface MjModel {
  nq: number; nv: number; nu: number;
  opt: { timestep: number; gravity: MjVec };
  body_mass: MjVec; body_ipos: MjVec; body_inertia: MjVec; dof_damping: MjVec;
  actuator_gainprm: MjVec; actuator_biasprm: MjVec;
  jnt_qposadr: MjVec; jnt_dofadr: MjVec;
  delete(): void;
}
interface MjData { qpos: MjVec; qvel: MjVec; ctrl: MjVec; time: number; delete(): void }
interface MjModule {
  FS: { mkdir(p: string): void; mount(t: unknown, o: unknown, p: string): void; writeFile(p: string, s: string): void; unlink(p: string): void };
  MEMFS: unknown;
  MjModel: { loadFromXML(path: string): MjModel };
  MjData: new (m: MjModel) => MjData;
  mj_step(m: MjModel, d: MjData): void;
  mj_forward(m: MjModel, d: MjData): void;
  mj_resetData(m: MjModel, d: MjData): void;
  mj_setConst(m: MjModel, d: MjData): void;
  mj_name2id(m: MjModel, type: number, name: string): number;
  mjtObj: Record<string, { value: number }>;
}

let modulePromise: Promise<MjModule> | null = null;
let fileCounter = 0;

/** Loads (once per thread) the MuJoCo wasm module and mounts a scratch directory. */
export function loadMujocoModule(): Promise<MjModule> {
  if (!modulePromise) {
    modulePromise = (async () => {
      const load = (await import('mujoco-js')).default as unknown as () => Promise<MjModule>;
      const mj = await load();
      mj.FS.mkdir('/dmpc');
      mj.FS.mount(mj.MEMFS, { root: '.' }, '/dmpc');
      return mj;
    })();
  }
  return modulePromise;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Directory of the project's MJCF files. */
export const MJCF_DIR = join(here, '..', '..', 'models', 'mjcf');
export const MUJOCO_KINDS = ['pendulum', 'cartpole', 'diffdrive'] as const;
export type MujocoKind = (typeof MUJOCO_KINDS)[number];

/**
 * A well-formedness check of XML text (balanced tags, quoted attributes): MuJoCo itself reports only
 * "mjXError", so this names the line and the problem. Returns null when the text is well formed.
 */
export function xmlProblem(xml: string): string | null {
  const stack: { name: string; line: number }[] = [];
  const lineAt = (i: number) => xml.slice(0, i).split('\n').length;
  const re = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<[^>]*>?/g;
  let m: RegExpExecArray | null;
  let root: string | null = null;
  while ((m = re.exec(xml))) {
    const tok = m[0];
    if (tok.startsWith('<!--') || tok.startsWith('<?') || tok.startsWith('<![CDATA[')) continue;
    if (m[2] === undefined) return `line ${lineAt(m.index)}: malformed tag ${JSON.stringify(tok.slice(0, 60))}`;
    const [, close, name, , selfClose] = m;
    if (close) {
      const top = stack.pop();
      if (!top) return `line ${lineAt(m.index)}: closing </${name}> without an opening tag`;
      if (top.name !== name) return `line ${lineAt(m.index)}: </${name}> closes <${top.name}> opened on line ${top.line}`;
    } else {
      if (root === null) root = name;
      else if (stack.length === 0) return `line ${lineAt(m.index)}: a second top-level element <${name}>`;
      if (!selfClose) stack.push({ name, line: lineAt(m.index) });
    }
  }
  if (stack.length) return `<${stack[stack.length - 1].name}> opened on line ${stack[stack.length - 1].line} is never closed`;
  if (root === null) return 'no XML element found';
  if (root !== 'mujoco') return `the root element is <${root}>, expected <mujoco>`;
  return null;
}

/** MJCF text → compiled MjModel, with readable errors. */
export async function compileMjcf(xml: string, source = 'MJCF'): Promise<{ mj: MjModule; model: MjModel }> {
  const problem = xmlProblem(xml);
  if (problem) throw new Error(`mujoco: ${source} is not well-formed XML: ${problem}`);
  const mj = await loadMujocoModule();
  const path = `/dmpc/model_${fileCounter++}.xml`;
  mj.FS.writeFile(path, xml);
  try {
    return { mj, model: mj.MjModel.loadFromXML(path) };
  } catch (e) {
    const type = (e as { name?: string })?.name ?? String(e);
    const what = type === 'mjXError'
      ? 'an MJCF schema error (unknown element or attribute, a bad attribute value, or a missing required attribute)'
      : type === 'mjCError'
        ? 'a model compilation error (e.g. zero mass or inertia on a moving body, a joint or actuator that refers to nothing)'
        : `a MuJoCo error (${type})`;
    throw new Error(`mujoco: cannot load ${source}: ${what}. MuJoCo's wasm build reports only the error type '${type}'; check the file against the MJCF reference.`);
  } finally {
    try { mj.FS.unlink(path); } catch { /* already gone */ }
  }
}

interface KindSpec {
  stateNames: string[];
  controlNames: string[];
  paramNames: string[];
  /** MuJoCo actuators beyond the plant's controls are held at 0. */
  bind(mj: MjModule, m: MjModel): Binding;
}
interface Binding {
  read(d: MjData, x: Float64Array): void;
  write(d: MjData, x: Float64Array): void;
  getParams(): Record<string, number>;
  setParam(name: string, v: number): void;
}

const id = (mj: MjModule, m: MjModel, type: string, name: string): number => {
  const k = mj.mj_name2id(m, mj.mjtObj[type].value, name);
  if (k < 0) throw new Error(`mujoco: the MJCF has no ${type.replace('mjOBJ_', '').toLowerCase()} named '${name}' (required by the plant's state mapping)`);
  return k;
};

const positive = (name: string, v: number) => {
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`mujoco: parameter ${name} must be positive and finite (got ${v})`);
};

const SPECS: Record<MujocoKind, KindSpec> = {
  pendulum: {
    stateNames: ['q', 'omega'], controlNames: ['tau'], paramNames: ['m', 'l', 'g', 'b'],
    bind(mj, m) {
      const j = id(mj, m, 'mjOBJ_JOINT', 'pivot'), body = id(mj, m, 'mjOBJ_BODY', 'bob');
      const qa = m.jnt_qposadr[j], va = m.jnt_dofadr[j];
      return {
        read(d, x) { x[0] = d.qpos[qa]; x[1] = d.qvel[va]; },
        write(d, x) { d.qpos[qa] = x[0]; d.qvel[va] = x[1]; },
        getParams: () => ({ m: m.body_mass[body], l: -m.body_ipos[3 * body + 2], g: -m.opt.gravity[2], b: m.dof_damping[va] }),
        setParam(name, v) {
          if (name === 'm') { positive(name, v); m.body_mass[body] = v; }
          else if (name === 'l') { positive(name, v); m.body_ipos[3 * body + 2] = -v; }
          else if (name === 'g') m.opt.gravity[2] = -v;
          else if (name === 'b') { if (!(v >= 0)) throw new Error(`mujoco: parameter b must be ≥ 0 (got ${v})`); m.dof_damping[va] = v; }
          else throw new Error(`mujoco: pendulum has no parameter '${name}' (has m, l, g, b)`);
        },
      };
    },
  },
  cartpole: {
    stateNames: ['p', 'v', 'q', 'omega'], controlNames: ['F'], paramNames: ['mc', 'mp', 'l', 'g'],
    bind(mj, m) {
      const jc = id(mj, m, 'mjOBJ_JOINT', 'cart_joint'), jp = id(mj, m, 'mjOBJ_JOINT', 'pole_joint');
      const cart = id(mj, m, 'mjOBJ_BODY', 'cart'), pole = id(mj, m, 'mjOBJ_BODY', 'pole');
      const qc = m.jnt_qposadr[jc], vc = m.jnt_dofadr[jc], qp = m.jnt_qposadr[jp], vp = m.jnt_dofadr[jp];
      return {
        read(d, x) { x[0] = d.qpos[qc]; x[1] = d.qvel[vc]; x[2] = d.qpos[qp]; x[3] = d.qvel[vp]; },
        write(d, x) { d.qpos[qc] = x[0]; d.qvel[vc] = x[1]; d.qpos[qp] = x[2]; d.qvel[vp] = x[3]; },
        getParams: () => ({ mc: m.body_mass[cart], mp: m.body_mass[pole], l: -m.body_ipos[3 * pole + 2], g: -m.opt.gravity[2] }),
        setParam(name, v) {
          if (name === 'mc') { positive(name, v); m.body_mass[cart] = v; }
          else if (name === 'mp') { positive(name, v); m.body_mass[pole] = v; }
          else if (name === 'l') { positive(name, v); m.body_ipos[3 * pole + 2] = -v; }
          else if (name === 'g') m.opt.gravity[2] = -v;
          else throw new Error(`mujoco: cartpole has no parameter '${name}' (has mc, mp, l, g)`);
        },
      };
    },
  },
  diffdrive: {
    stateNames: ['px', 'py', 'psi', 'v', 'omega'], controlNames: ['v_cmd', 'omega_cmd'], paramNames: ['tau_v', 'tau_omega'],
    bind(mj, m) {
      const jx = id(mj, m, 'mjOBJ_JOINT', 'x'), jy = id(mj, m, 'mjOBJ_JOINT', 'y'), jw = id(mj, m, 'mjOBJ_JOINT', 'yaw');
      const base = id(mj, m, 'mjOBJ_BODY', 'base');
      const av = id(mj, m, 'mjOBJ_ACTUATOR', 'v_cmd'), aw = id(mj, m, 'mjOBJ_ACTUATOR', 'omega_cmd');
      const [qx, qy, qw] = [m.jnt_qposadr[jx], m.jnt_qposadr[jy], m.jnt_qposadr[jw]];
      const [vx, vy, vw] = [m.jnt_dofadr[jx], m.jnt_dofadr[jy], m.jnt_dofadr[jw]];
      // velocity actuator: force = gainprm[0]·ctrl + biasprm[2]·velocity, with gainprm[0] = kv, biasprm[2] = −kv
      const setKv = (a: number, kv: number) => { m.actuator_gainprm[10 * a] = kv; m.actuator_biasprm[10 * a + 2] = -kv; };
      return {
        read(d, x) {
          const psi = d.qpos[qw];
          x[0] = d.qpos[qx]; x[1] = d.qpos[qy]; x[2] = psi;
          x[3] = d.qvel[vx] * Math.cos(psi) + d.qvel[vy] * Math.sin(psi); x[4] = d.qvel[vw];
        },
        write(d, x) {
          d.qpos[qx] = x[0]; d.qpos[qy] = x[1]; d.qpos[qw] = x[2];
          d.qvel[vx] = x[3] * Math.cos(x[2]); d.qvel[vy] = x[3] * Math.sin(x[2]); d.qvel[vw] = x[4];
        },
        getParams: () => ({ tau_v: m.body_mass[base] / m.actuator_gainprm[10 * av], tau_omega: m.body_inertia[3 * base + 2] / m.actuator_gainprm[10 * aw] }),
        setParam(name, v) {
          positive(name, v);
          if (name === 'tau_v') setKv(av, m.body_mass[base] / v);
          else if (name === 'tau_omega') setKv(aw, m.body_inertia[3 * base + 2] / v);
          else throw new Error(`mujoco: diffdrive has no parameter '${name}' (has tau_v, tau_omega)`);
        },
      };
    },
  },
};

export interface MujocoPlantOptions extends PlantOptions {
  /** MJCF text to use instead of models/mjcf/<kind>.xml (must keep the element names of the mapping). */
  xml?: string;
  /** Where `xml` came from, for messages. */
  source?: string;
  /** Overrides the MJCF's physics time step (s). */
  timestep?: number;
}

export class MujocoPlant extends PlantBase {
  readonly engine = 'mujoco';
  readonly nx: number;
  readonly nu: number;
  readonly stateNames: readonly string[];
  readonly controlNames: readonly string[];
  private readonly x: Float64Array;
  private closed = false;

  private constructor(readonly kind: MujocoKind, private readonly mj: MjModule, private readonly m: MjModel,
    private readonly d: MjData, private readonly bind: Binding, opts: MujocoPlantOptions) {
    super(createRng(opts.seed ?? 0), opts);
    const spec = SPECS[kind];
    this.nx = spec.stateNames.length; this.nu = spec.controlNames.length;
    this.stateNames = spec.stateNames; this.controlNames = spec.controlNames;
    this.x = new Float64Array(this.nx);
    if (m.nu < this.nu) throw new Error(`mujoco: the ${kind} MJCF has ${m.nu} actuators, the plant needs ${this.nu}`);
    this.init();
  }

  /** Loads models/mjcf/<kind>.xml (or `opts.xml`) and builds the plant. */
  static async create(kind: string, opts: MujocoPlantOptions = {}): Promise<MujocoPlant> {
    if (!(MUJOCO_KINDS as readonly string[]).includes(kind)) throw new Error(`mujoco: no MJCF model for '${kind}' (have ${MUJOCO_KINDS.join(', ')})`);
    const k = kind as MujocoKind;
    const source = opts.source ?? (opts.xml ? 'the given MJCF' : join(MJCF_DIR, `${k}.xml`));
    const xml = opts.xml ?? readFileSync(join(MJCF_DIR, `${k}.xml`), 'utf8');
    const { mj, model } = await compileMjcf(xml, source);
    let data: MjData | undefined;
    try {
      if (opts.timestep !== undefined) {
        if (!(opts.timestep > 0)) throw new Error(`mujoco: timestep must be positive (got ${opts.timestep})`);
        model.opt.timestep = opts.timestep;
      }
      data = new mj.MjData(model);
      const bind = SPECS[k].bind(mj, model);
      return new MujocoPlant(k, mj, model, data, bind, opts);
    } catch (e) {
      data?.delete(); model.delete();
      throw e;
    }
  }

  /** MuJoCo's physics step (s). */
  get timestep(): number { return this.m.opt.timestep; }

  private live(): void { if (this.closed) throw new Error(`plant ${this.kind}: used after close()`); }

  protected setTrueState(x: Float64Array): void {
    this.live();
    this.mj.mj_resetData(this.m, this.d);
    this.bind.write(this.d, x);
    this.mj.mj_forward(this.m, this.d);
  }

  trueState(): Float64Array {
    this.live();
    this.bind.read(this.d, this.x);
    return Float64Array.from(this.x);
  }

  protected advance(u: Float64Array, dt: number): void {
    this.live();
    const h = this.m.opt.timestep;
    const n = Math.round(dt / h);
    if (n < 1 || Math.abs(n * h - dt) > 1e-9 * Math.max(1, dt)) {
      throw new Error(`plant ${this.kind}: dt = ${dt} s is not a whole number of MuJoCo steps (timestep ${h} s)`);
    }
    const ctrl = this.d.ctrl; // fresh view (see the file comment)
    for (let j = 0; j < this.nu; j++) ctrl[j] = u[j];
    for (let j = this.nu; j < this.m.nu; j++) ctrl[j] = 0;
    for (let i = 0; i < n; i++) this.mj.mj_step(this.m, this.d);
    this.bind.read(this.d, this.x);
    for (let i = 0; i < this.nx; i++) if (!Number.isFinite(this.x[i])) throw new Error(`plant ${this.kind}: MuJoCo's state became non-finite at t = ${this.t + dt}`);
  }

  parameters(): Record<string, number> { this.live(); return this.bind.getParams(); }

  setParameters(p: Record<string, number>): void {
    this.live();
    for (const [name, v] of Object.entries(p)) this.bind.setParam(name, v);
    this.mj.mj_setConst(this.m, this.d);
    this.mj.mj_forward(this.m, this.d);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.d.delete(); this.m.delete();
  }
}
