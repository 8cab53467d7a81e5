import type { IConstruct } from 'constructs';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { logicalId } from './platform.js';

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** Every statement of every IAM policy attached to a function's role. */
export const roleStatements = (template: Template, fn: IFunction): Statement[] => {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: logicalId(fn.role!) }]) },
  });
  return Object.values(policies).flatMap((policy) => (policy as any).Properties.PolicyDocument.Statement as Statement[]);
};

export const actionsOf = (statement: Statement): string[] => [statement.Action].flat();

/**
 * Whether a statement's resources name the construct: in its own stack by `Ref`/`Fn::GetAtt`, in another through
 * the `Fn::ImportValue` of its export, whose name carries the logical ID.
 */
export const names = (statement: Statement, construct: IConstruct): boolean =>
  new RegExp(`"${logicalId(construct)}"|Output(FnGetAtt|Ref)${logicalId(construct)}`).test(JSON.stringify(statement.Resource));

/** The actions a function's role allows on one resource. */
export const actionsOn = (template: Template, fn: IFunction, construct: IConstruct): string[] =>
  roleStatements(template, fn)
    .filter((statement) => statement.Effect === 'Allow' && names(statement, construct))
    .flatMap(actionsOf)
    .sort();
