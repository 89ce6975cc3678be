// Agents and customers of one test server on their sockets: a ready agent, a customer, and a chat
// served (started by the customer, offered to and accepted by the agent). Every socket opened here is
// kept in `sockets` (a test may add its own) and closed by closeAll() after each test.
import type { CustomerChatView, Offer } from '../../protocol/events.js';
import { createAgent, visitorToken } from './server.js';
import { call, connect, msgId, next, type AgentSocket, type CustomerSocket } from './sockets.js';

export interface ReadyAgent {
  socket: AgentSocket;
  id: string;
  token: string;
}

export interface ChatCustomer {
  socket: CustomerSocket;
  id: string;
  token: string;
}

/** `server` gives the running server's URL and an admin token (read when a party is made). */
export function chatParties(server: () => { url: string; admin: string }) {
  const sockets: Array<{ close(): unknown }> = [];
  return {
    sockets,
    /** A new agent (3 chats at once), connected and ready. */
    async readyAgent(name: string): Promise<ReadyAgent> {
      const { url, admin } = server();
      const a = await createAgent(url, admin, { displayName: name, chatCapacity: 3 });
      const socket = await connect<AgentSocket>(url, '/agent', a.token);
      sockets.push(socket);
      await next(socket, 'hello');
      await call(socket, 'presence:set', { state: 'ready' });
      return { socket, id: a.id, token: a.token };
    },
    /** A new visitor, connected. */
    async customer(name: string): Promise<ChatCustomer> {
      const v = await visitorToken(server().url, name);
      const socket = await connect<CustomerSocket>(server().url, '/customer', v.token);
      sockets.push(socket);
      return { socket, id: v.customerId, token: v.token };
    },
    /** A chat of `c` in `queueId`, offered to and accepted by `agent`. */
    async served(c: { socket: CustomerSocket }, agent: { socket: AgentSocket }, queueId = 'general', text = 'Hello'): Promise<{ taskId: string; offer: Offer }> {
      const offered = next<Offer>(agent.socket, 'offer');
      const view = await call<CustomerChatView>(c.socket, 'chat:start', { queueId, text, clientMsgId: msgId() });
      const offer = await offered;
      expect(offer.taskId).toBe(view.taskId);
      await call(agent.socket, 'offer:accept', { taskId: view.taskId });
      return { taskId: view.taskId, offer };
    },
    closeAll(): void {
      for (const s of sockets.splice(0)) s.close();
    },
  };
}
