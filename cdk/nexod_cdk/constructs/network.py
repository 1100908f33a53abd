"""Network: a dual-stack VPC whose egress matches the profile (IPv6 egress-only, NAT instance or NAT gateways)."""

from __future__ import annotations

from aws_cdk import CfnResource, CfnTag, Fn, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..config import DeploymentConfig, log_retention

AGENT_IPV6_INDEX = 64  # the agent subnets' /64s: numbers 64.. of the VPC's /56


class Network(Construct):
    """VPC, subnets and the two security groups (functions, database) every other construct uses.

    No subnet is public-facing for workloads: functions and tasks sit in `app` subnets, Aurora in `data`
    subnets (isolated). Egress: IPv6 through a free egress-only internet gateway in every profile, and
    IPv4 through NAT only when the profile pays for it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        profile = config.profile
        subnets = [
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
            ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
        ]
        nat_provider: ec2.NatProvider | None = None
        if profile.nat_count > 0:
            subnets.insert(
                0,
                ec2.SubnetConfiguration(
                    name="edge", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=26, map_public_ip_on_launch=False
                ),
            )
            if profile.egress == "nat-instance":
                nat_provider = ec2.NatProvider.instance_v2(
                    instance_type=ec2.InstanceType("t4g.nano"),
                    machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.ARM_64),
                    default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
                    associate_public_ip_address=True,
                )
            else:
                nat_provider = ec2.NatProvider.gateway()

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_protocol=ec2.IpProtocol.DUAL_STACK,
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            max_azs=profile.max_azs,
            nat_gateways=profile.nat_count,
            nat_gateway_provider=nat_provider,
            subnet_configuration=subnets,
            # Without public subnets there is nothing for an internet gateway to serve.
            create_internet_gateway=profile.nat_count > 0,
            restrict_default_security_group=True,
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=log_retention(profile),
            removal_policy=RemovalPolicy.RETAIN,  # records outlive a teardown; the retention expires them
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            # Rejected traffic is what a reviewer looks for; accepting everything would bill every packet.
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )

        self.app_subnets = ec2.SubnetSelection(subnet_group_name="app")
        self.data_subnets = ec2.SubnetSelection(subnet_group_name="data")

        self.functions_sg = ec2.SecurityGroup(
            self,
            "FunctionsSg",
            vpc=self.vpc,
            description="Nexod Lambda functions and agent tasks: outbound only",
            allow_all_outbound=True,
            allow_all_ipv6_outbound=True,
        )
        # Agent tasks run tools a model chose (DESIGN §3): HTTPS out only (the broker's URL, ECR, CloudWatch
        # Logs), and no rule of the database's security group names this one: no network path to Aurora.
        self.agent_sg = ec2.SecurityGroup(
            self,
            "AgentSg",
            vpc=self.vpc,
            description="Nexod agent tasks (untrusted tools): HTTPS out only, no database access",
            allow_all_outbound=False,
            allow_all_ipv6_outbound=False,
        )
        self.agent_sg.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS: broker, ECR, logs (IPv4)")
        self.agent_sg.add_egress_rule(ec2.Peer.any_ipv6(), ec2.Port.tcp(443), "HTTPS: broker (IPv6)")
        self.database_sg = ec2.SecurityGroup(
            self,
            "DatabaseSg",
            vpc=self.vpc,
            description="Nexod Aurora cluster: PostgreSQL from Nexod functions only",
            allow_all_outbound=False,
        )
        self.dual_stack_egress = True
        self.ipv4_egress = profile.nat_count > 0
        # Agent task subnets. With NAT: the app subnets. Without NAT (starter) a task has no IPv4 route out, so
        # it runs in IPv6-only subnets of its own (one per AZ, routed like the app subnets: ::/0 through the
        # egress-only gateway, $0): in an IPv6-only subnet ECS pulls from ECR's dual-stack endpoint (the task
        # definition names the `dkr-ecr.<region>.on.aws` image URI) and ships awslogs over IPv6, and the runner
        # reaches the broker's function URL (dual-stack) directly. Interface endpoints would cost $21.90/month
        # ($0.01/endpoint-AZ-hour x ecr.api, ecr.dkr, logs) and break the starter's $5 idle budget;
        # ECR's dual-stack endpoints take no PrivateLink anyway. docs/decisions.md (2026-11-26).
        self.agent_subnet_ids: list[str] = self.vpc.select_subnets(subnet_group_name="app").subnet_ids
        self.agent_subnets_ipv6_only = not self.ipv4_egress
        if self.agent_subnets_ipv6_only:
            app = self.vpc.select_subnets(subnet_group_name="app").subnets
            ipv6_block = Fn.select(0, self.vpc.vpc_ipv6_cidr_blocks)
            ipv6_cidr = self.vpc.node.find_child("ipv6cidr")
            assert isinstance(ipv6_cidr, CfnResource)
            self.agent_subnet_ids = []
            for index, twin in enumerate(app):
                subnet = ec2.CfnSubnet(
                    self,
                    f"AgentSubnet{index + 1}",
                    vpc_id=self.vpc.vpc_id,
                    availability_zone=twin.availability_zone,
                    ipv6_native=True,
                    # /64s far above the ones CDK numbers from the start of the VPC's block (one per subnet).
                    ipv6_cidr_block=Fn.select(AGENT_IPV6_INDEX + index, Fn.cidr(ipv6_block, 256, "64")),
                    assign_ipv6_address_on_creation=True,
                    enable_dns64=False,  # no NAT64 to send IPv4-only destinations to
                    private_dns_name_options_on_launch={
                        "HostnameType": "resource-name",
                        "EnableResourceNameDnsAAAARecord": True,
                        "EnableResourceNameDnsARecord": False,
                    },
                    tags=[CfnTag(key="Name", value=f"{Stack.of(self).stack_name}/agents-{index + 1}")],
                )
                subnet.add_dependency(ipv6_cidr)  # the VPC's IPv6 block must be attached first
                ec2.CfnSubnetRouteTableAssociation(
                    self,
                    f"AgentSubnet{index + 1}Routes",
                    subnet_id=subnet.attr_subnet_id,
                    route_table_id=twin.route_table.route_table_id,
                )
                self.agent_subnet_ids.append(subnet.attr_subnet_id)
