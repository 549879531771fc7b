export {
  ControlError, updateRecord, type ControlErrorCode, type ControlOp, type ControlRecord, type ControlStore, type Compare
} from './control-store.ts'
export { EtcdControlStore } from './etcd-control-store.ts'
export { LevelControlStore } from './level-control-store.ts'
