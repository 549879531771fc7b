export { ComputeAgentClient, type AgentCallOptions } from './agent-client.ts'
export { ComputeAgent, type ComputeAgentComponents } from './agent/compute-agent.ts'
export { loadAgentConfig, parseAgentConfig, type AgentConfig } from './agent/config.ts'
export { ComputeError, type ComputeErrorCode } from './agent/errors.ts'
export { runComputeAgent } from './agent/main.ts'
export type { Accelerator, Capacity, DiskSpec, InstanceInfo, InstanceSpec, InstanceState } from './agent/types.ts'
export {
  ComputeController, DEFAULT_FLAVORS, ServerError, type ComputeControllerComponents, type ComputeControllerOptions, type CreateServer,
  type FlavorRecord, type FlavorSpec, type HypervisorRecord, type HypervisorView, type ServerAttachment, type ServerErrorCode,
  type ServerRecord, type ServerStatus
} from './controller/index.ts'
