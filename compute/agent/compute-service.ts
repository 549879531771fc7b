import type { sendUnaryData } from '@grpc/grpc-js'
import type { Logger } from '../../lib/logger.ts'
import type { ComputeAgentHandlers } from '../../proto/gen/ringstack/compute/v1/ComputeAgent.ts'
import { ComputeError } from './errors.ts'
import { toStatus } from './grpc-status.ts'
import type { Hypervisor } from './hypervisor.ts'
import { capacityToProto, diskFromProto, infoToProto, specFromProto } from './proto-convert.ts'

export interface ComputeServiceComponents {
  hypervisor: Hypervisor
  logger: Logger
}

/** The ComputeAgent gRPC handlers: wire messages in, the hypervisor does the work, typed errors out as status. */
export class ComputeService {
  private readonly hypervisor: Hypervisor
  private readonly logger: Logger

  constructor (components: ComputeServiceComponents) {
    this.hypervisor = components.hypervisor
    this.logger = components.logger
  }

  handlers (): ComputeAgentHandlers {
    const h = this.hypervisor
    return {
      Capacity: (_call, callback) => this.unary('Capacity', callback, () => capacityToProto(h.capacity())),
      StartInstance: (call, callback) => this.unary('StartInstance', callback,
        async () => infoToProto(await h.start(specFromProto(call.request)))),
      StopInstance: (call, callback) => this.unary('StopInstance', callback,
        async () => infoToProto(await h.stop(call.request.id, call.request.timeoutMs))),
      RebootInstance: (call, callback) => this.unary('RebootInstance', callback,
        async () => infoToProto(await h.reboot(call.request.id))),
      DeleteInstance: (call, callback) => this.unary('DeleteInstance', callback, async () => {
        await h.delete(call.request.id)
        return {}
      }),
      GetInstance: (call, callback) => this.unary('GetInstance', callback, () => infoToProto(h.info(call.request.id))),
      ListInstances: (_call, callback) => this.unary('ListInstances', callback,
        () => ({ instances: h.list().map(infoToProto) })),
      AttachVolume: (call, callback) => this.unary('AttachVolume', callback, async () => {
        const { disk } = call.request
        if (disk === null) throw new ComputeError('InvalidArgument', 'disk is required')
        return infoToProto(await h.attach(call.request.instanceId, diskFromProto(disk)))
      }),
      DetachVolume: (call, callback) => this.unary('DetachVolume', callback,
        async () => infoToProto(await h.detach(call.request.instanceId, call.request.serial))),
      GetConsole: (call, callback) => this.unary('GetConsole', callback,
        async () => ({ data: await h.console(call.request.id, call.request.maxBytes) }))
    }
  }

  private unary<Res> (method: string, callback: sendUnaryData<Res>,
    run: () => Res | Promise<Res>): void {
    void (async () => {
      try {
        callback(null, await run())
      } catch (err) {
        if (err instanceof ComputeError) this.logger.info({ method, code: err.code, msg: err.message }, 'call refused')
        else this.logger.error({ err, method }, 'call failed')
        callback(toStatus(err), null)
      }
    })()
  }
}
