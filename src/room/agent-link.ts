// What an agent's socket offers its room beyond an EndpointLink: the audio the agent hears, handed on
// as the agent's media session reports it. Types and one delivery helper; no state, no I/O.
import type { EndpointLink } from './endpoint-events.js';
import type { AgentAudio } from './media-port.js';

export interface AgentLink extends EndpointLink {
  agentAudio(audio: AgentAudio): void;
}

/** Hands `audio` to `link` if it is an agent's link (other links never get audio). */
export function deliverAgentAudio(link: EndpointLink | undefined, audio: AgentAudio): void {
  const agent = link as Partial<AgentLink> | undefined;
  if (typeof agent?.agentAudio === 'function') agent.agentAudio(audio);
}
