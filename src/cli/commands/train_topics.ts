/**
 * Where `dmpc train dynamics` finds the state and control in an MCAP bag: the model's default topics
 * (src/data/rosmsgs.ts modelTopics), or a controller configuration's topic mapping resolved exactly as
 * `dmpc ros` resolves it for the node (`--config C.json [--ros-args -r __ns:=/robot1 -r from:=to]`,
 * ros/node_setup.ts), with `--state-topic` / `--control-topic` replacing the names. One mapping from
 * message fields to model states (ros/mapping.ts), whether the messages arrive live or from a bag.
 */
import { readFileSync } from 'node:fs';
import { loadControllerConfig } from '../../../controllers/schema.js';
import { nodeIdentity, resolveName, type RosArguments } from '../../../ros/names.js';
import { setupNode } from '../../../ros/node_setup.js';
import { createModel } from '../../../models/continuous/index.js';
import { configTopics, modelTopics, type BagTopics } from '../../data/rosmsgs.js';

export interface TopicFlags {
  config?: string;
  model?: string;
  stateTopic?: string;
  controlTopic?: string;
}

/** The model kind and, when any topic flag is given, the bag topics; every problem at once. */
export interface TrainTopics { kind: string; topics?: BagTopics }

const hasRosArgs = (ros: RosArguments) =>
  ros.remaps.length > 0 || ros.params.length > 0 || ros.unknown.length > 0 || ros.deprecatedRemaps.length > 0 || ros.enclave !== undefined;

export function trainTopics(flags: TopicFlags, ros: RosArguments): TrainTopics {
  const problems: string[] = [];
  if (!flags.config && hasRosArgs(ros)) problems.push('--ros-args needs --config CONFIG.json (the names they resolve are the configuration\'s topics)');
  let kind = flags.model;
  let topics: BagTopics | undefined;
  let node = nodeIdentity('dmpc_train', '/', []);
  let rules = ros.remaps;
  if (flags.config) {
    try {
      const config = loadControllerConfig(flags.config);
      const setup = setupNode(config, ros, (p) => readFileSync(p, 'utf8'), flags.config);
      node = setup.node;
      topics = configTopics(setup.config);
      const own = 'kind' in config.model ? config.model.kind : undefined;
      if (kind === undefined) {
        if (own === undefined) problems.push(`--model NAME is required: ${flags.config} names a model file, not a kind`);
        kind = own;
      } else if (own !== undefined && own !== kind) {
        problems.push(`--model ${kind} differs from the model of ${flags.config} ('${own}'); leave --model out to use the configuration's`);
      }
    } catch (e) { problems.push((e as Error).message); rules = []; }
  }
  if (kind === undefined && !flags.config) problems.push('--model NAME is required (a models/continuous kind, e.g. pendulum)');
  if (kind !== undefined && !topics && (flags.stateTopic || flags.controlTopic)) {
    try { const m = createModel(kind); topics = modelTopics(m.stateNames, m.controlNames); } catch (e) { problems.push((e as Error).message); }
  }
  // explicit names: resolved as the node resolves its own (relative names get its namespace)
  const rename = (flag: string, name: string | undefined): string | undefined => {
    if (name === undefined) return undefined;
    try { return resolveName(name, 'topic', node, rules); } catch (e) { problems.push(`${flag} ${name}: ${(e as Error).message}`); return undefined; }
  };
  const state = rename('--state-topic', flags.stateTopic), control = rename('--control-topic', flags.controlTopic);
  if (problems.length) throw new Error(problems.join('\n'));
  if (topics) {
    if (state) topics = { ...topics, state: { ...topics.state, topic: state } };
    if (control) topics = { ...topics, command: { ...topics.command, topic: control } };
  }
  return { kind: kind!, topics };
}
