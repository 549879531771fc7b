import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import type { ProtoGrpcType } from '../../proto/gen/compute.ts'
import type { ComputeAgentDefinition } from '../../proto/gen/ringstack/compute/v1/ComputeAgent.ts'
import { packagePath } from '../../lib/package-path.ts'

const PROTO_PATH = packagePath('proto', 'compute.proto')

type ComputeAgentConstructor = ProtoGrpcType['ringstack']['compute']['v1']['ComputeAgent']

/** Parsed once per process: the definitions are immutable. */
let constructor: ComputeAgentConstructor | undefined

export function loadComputeAgent (): ComputeAgentConstructor {
  if (constructor === undefined) {
    const definition = protoLoader.loadSync(PROTO_PATH, { longs: String, enums: String, defaults: true, oneofs: true })
    constructor = (grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType).ringstack.compute.v1.ComputeAgent
  }
  return constructor
}

export function computeAgentService (): ComputeAgentDefinition {
  return loadComputeAgent().service
}
