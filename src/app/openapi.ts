// The OpenAPI 3.1 description of the REST API (rest-api.ts), served at /v1/openapi.json. Written by
// hand next to the routes; test/app/rest-api.test.ts checks that its operations are exactly
// API_ROUTES and that every status the server answers is one documented here.
import { WEBHOOK_EVENTS } from '../call/agent-profile.js';

const problem = { $ref: '#/components/responses/Problem' };

function json(schemaRef: string): object {
  return { 'application/json': { schema: { $ref: `#/components/schemas/${schemaRef}` } } };
}

const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The call id: the SIP Call-ID (URL-encoded)',
  schema: { type: 'string' },
};

export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'grok-sip',
      version: '1',
      description:
        'Place outbound calls with a Grok voice agent on them, list and control calls (inbound ones too). ' +
        'Enabled when GROK_SIP_API_TOKEN is set; errors are RFC 9457 problem details naming the field at fault.',
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/openapi.json': {
        get: {
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI document', content: { 'application/json': {} } } },
        },
      },
      '/v1/calls': {
        post: {
          summary: 'Place a call through a trunk',
          requestBody: { required: true, content: json('PlaceCallRequest') },
          responses: {
            '201': {
              description: 'Dialing',
              content: json('Call'),
              headers: { Location: { schema: { type: 'string' } } },
            },
            '400': problem,
            '401': problem,
            '413': problem,
            '415': problem,
            '422': problem,
            '429': problem,
            '501': problem,
            '503': problem,
          },
        },
        get: {
          summary: 'Live calls, inbound and outbound',
          responses: { '200': { description: 'Calls', content: json('CallList') }, '401': problem },
        },
      },
      '/v1/calls/{id}': {
        parameters: [idParameter],
        get: {
          summary: 'One call: state, timings, and its CDR once over',
          responses: {
            '200': { description: 'The call', content: json('Call') },
            '401': problem,
            '404': problem,
          },
        },
        delete: {
          summary: 'Hang up (CANCEL while it rings)',
          responses: {
            '202': { description: 'Hanging up', content: json('Call') },
            '401': problem,
            '404': problem,
            '409': problem,
          },
        },
      },
      '/v1/calls/{id}/transfer': {
        parameters: [idParameter],
        post: {
          summary: 'Blind transfer (REFER) of an answered call; the agent leaves first',
          requestBody: { required: true, content: json('TransferRequest') },
          responses: {
            '200': { description: 'Outcome from the NOTIFY sipfrag', content: json('TransferOutcome') },
            '400': problem,
            '401': problem,
            '404': problem,
            '409': problem,
            '413': problem,
            '415': problem,
            '422': problem,
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Problem: {
          description: 'RFC 9457 problem details',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
      schemas: {
        PlaceCallRequest: {
          type: 'object',
          additionalProperties: false,
          required: ['to', 'trunk', 'agent'],
          properties: {
            to: { type: 'string', description: 'A number or user dialled at the trunk, or a sip:/sips: URI' },
            from: { type: 'string', description: "From user (default the trunk's fromUser)" },
            trunk: { type: 'string', description: 'trunks[].name' },
            agent: { type: 'string', description: 'agents.profiles[].name' },
            variables: {
              type: 'object',
              additionalProperties: { type: 'string' },
              description: "Fill {{name}} in the profile's instructions and greeting",
            },
            timeoutSec: {
              type: 'integer',
              minimum: 1,
              maximum: 300,
              description: "Ring timeout (at most the trunk's)",
            },
            waitForCallee: {
              type: 'boolean',
              description: 'Greet after the callee speaks or after 2 s of silence',
            },
            webhooks: {
              type: 'array',
              items: {
                type: 'object',
                required: ['url'],
                properties: {
                  url: { type: 'string', format: 'uri' },
                  events: { type: 'array', items: { enum: [...WEBHOOK_EVENTS] } },
                },
              },
            },
          },
        },
        Call: {
          type: 'object',
          required: ['id', 'direction', 'state', 'from', 'to', 'startedAt'],
          properties: {
            id: { type: 'string' },
            direction: { enum: ['inbound', 'outbound'] },
            state: { enum: ['dialing', 'ringing', 'answered', 'active', 'ended'] },
            from: { type: 'string' },
            to: { type: 'string' },
            agent: { type: 'string' },
            trunk: { type: 'string' },
            startedAt: { type: 'string', format: 'date-time' },
            answeredAt: { type: 'string', format: 'date-time' },
            endedAt: { type: 'string', format: 'date-time' },
            cdr: { type: 'object', description: 'The call-detail record, once the call is over' },
          },
        },
        CallList: {
          type: 'object',
          required: ['calls'],
          properties: { calls: { type: 'array', items: { $ref: '#/components/schemas/Call' } } },
        },
        TransferRequest: {
          type: 'object',
          required: ['target'],
          properties: { target: { type: 'string', description: 'sip:, sips: or tel: URI' } },
        },
        TransferOutcome: {
          type: 'object',
          required: ['accepted', 'status', 'reason'],
          properties: {
            accepted: { type: 'boolean' },
            status: { type: 'integer' },
            reason: { type: 'string' },
          },
        },
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'code'],
          properties: {
            type: { type: 'string', format: 'uri' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            field: { type: 'string', description: 'The request field at fault' },
            'invalid-params': {
              type: 'array',
              items: { type: 'object', properties: { name: { type: 'string' }, reason: { type: 'string' } } },
            },
          },
        },
      },
    },
  };
}
