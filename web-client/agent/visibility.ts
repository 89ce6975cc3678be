// Tells the server whether the app is on screen (on every connect and every change), so offers are
// pushed to this agent's devices only while it is not (docs/push.md).
import type { Socket } from 'socket.io-client';
import type { AgentClientToServer, AgentServerToClient } from '../../protocol/events.js';
import { request } from '../shared/socket';

export function reportVisibility(socket: Socket<AgentServerToClient, AgentClientToServer>): () => void {
  const send = () => {
    // Not queued while offline: the connect handler sends the state of that moment.
    if (socket.connected) request(socket, 'app:visibility', { visible: document.visibilityState === 'visible' }).catch(() => undefined);
  };
  socket.on('connect', send);
  document.addEventListener('visibilitychange', send);
  return () => {
    socket.off('connect', send);
    document.removeEventListener('visibilitychange', send);
  };
}
