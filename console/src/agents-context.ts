// The agents the server lists, loaded once by the app shell and read by every screen.
import { createContext, useContext } from 'react';
import type { Agent } from './api';

export const AgentsContext = createContext<Agent[]>([]);
export const useAgents = () => useContext(AgentsContext);
