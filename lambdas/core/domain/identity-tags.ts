/** The tags Sesame puts on every SES identity it creates (read by the CDK stack's conditions too). */

/** The tenant that created the identity. */
export const TAG_TENANT_KEY = 'sesame_tenant_id';

/** The stack whose domains function created the identity (SESAME_STACK_NAME). */
export const TAG_STACK_KEY = 'sesame_stack';
