import type { MobDefinition, Profile } from '../definition.js';
import type { ToolDef } from '../llm/types.js';
import { TASK_WORKFLOW_SKILL } from '../tools/task-workflow.js';

/** A short paraphrase of Meerkat's built-in `mob-communication` skill. */
export const MOB_COMMUNICATION_INSTRUCTION = [
  '# Mob communication',
  'You are a member of a mob of agents. Only peers wired to you can see and message you.',
  'Call `peers` to list them, `send_message` with a peer_id to message one, and `reply_to_peer` to answer the peer whose message started this turn.',
  'Peer messages reach you as "Peer message from <id>:" followed by the text. Keep messages short and specific.',
].join('\n');

/** The system prompt shared by every member of a profile: skills, the comms instruction, then (with builtins) the task-workflow skill. */
export function profileSystemPrompt(definition: MobDefinition, profile: Profile, memberHeader = true): string {
  const parts: string[] = [];
  if (memberHeader) parts.push(`You are a member of mob '${definition.id}' with role '${profile.name}'.`);
  for (const skill of profile.skills) parts.push(definition.skillContent(skill).trim());
  if (profile.tools.comms) parts.push(MOB_COMMUNICATION_INSTRUCTION);
  if (profile.tools.builtins) parts.push(TASK_WORKFLOW_SKILL);
  return parts.filter((p) => p !== '').join('\n\n');
}

const HANDLING_MODE = {
  type: 'string',
  enum: ['queue', 'steer'],
  description: 'queue (default) delivers at the next turn boundary; steer interrupts the peer.',
};

/** The comms tools every member with `tools.comms` gets. */
export const COMMS_TOOLS: readonly ToolDef[] = Object.freeze([
  {
    name: 'peers',
    description: 'List the peers wired to you: peer_id, name and description.',
    inputSchema: { type: 'object', properties: {}, additionalProperties: false },
  },
  {
    name: 'send_message',
    description: 'Send a message to a wired peer. Fails for peers that are not wired to you.',
    inputSchema: {
      type: 'object',
      properties: {
        peer_id: { type: 'string', description: 'The peer id from `peers`.' },
        body: { type: 'string' },
        handling_mode: HANDLING_MODE,
      },
      required: ['peer_id', 'body'],
      additionalProperties: false,
    },
  },
  {
    name: 'reply_to_peer',
    description: 'Reply to the peer whose message started this turn.',
    inputSchema: {
      type: 'object',
      properties: { body: { type: 'string' }, handling_mode: HANDLING_MODE },
      required: ['body'],
      additionalProperties: false,
    },
  },
]);
