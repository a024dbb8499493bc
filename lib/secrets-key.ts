import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface SecretsKeyProps {
  /** Name of the secret. @default - a name CloudFormation generates */
  readonly secretName?: string;
}

/**
 * The key that encrypts customers' webhook signing secrets at rest. Its value is 64 lowercase hex
 * characters: 32 random bytes, hex-encoded (Secrets Manager's generator only yields printable
 * characters, so the alphabet is narrowed to hex digits; 64 of them carry 256 bits).
 *
 * It is retained with the table: deleting it would leave every stored secret unreadable.
 */
export class SecretsKey extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string, props: SecretsKeyProps = {}) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      secretName: props.secretName,
      description: 'Sesame: key that encrypts webhook signing secrets (32 bytes, hex)',
      removalPolicy: RemovalPolicy.RETAIN,
      generateSecretString: {
        passwordLength: 64,
        excludeUppercase: true,
        excludePunctuation: true,
        includeSpace: false,
        excludeCharacters: 'ghijklmnopqrstuvwxyz',
        requireEachIncludedType: false,
      },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is the key that encrypts stored webhook signing secrets; an automatic rotation would make every stored secret unreadable. Re-encrypting under a new key is an operator task.',
    });
  }
}
