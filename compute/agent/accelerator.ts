import { access, constants, readFile } from 'node:fs/promises'
import type { Accelerator } from './types.ts'

/**
 * KVM only with hardware virtualisation (vmx/svm in /proc/cpuinfo), a
 * usable /dev/kvm, and not kvm_pvm: PVM is a software KVM that initialises
 * fine and then fails or crawls on real guests, so QEMU's own fallback
 * (`-accel kvm -accel tcg`) cannot be trusted to decide.
 */
export async function detectAccelerator (): Promise<Accelerator> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '')
  if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) return 'tcg'
  if (await exists('/sys/module/kvm_pvm')) return 'tcg'
  return await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => 'kvm' as const, () => 'tcg' as const)
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}
