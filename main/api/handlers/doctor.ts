import type { Handlers } from '../context.ts'

export const doctor: Handlers<'doctor.report'> = {
  'doctor.report': ({ node }, input) => node.doctor({ ping: input?.ping }),
}
