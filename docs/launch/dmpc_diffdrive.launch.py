"""Launch the diff-drive MPC controller (`dmpc ros`) as a node of a ROS 2 system.

    ros2 launch docs/launch/dmpc_diffdrive.launch.py                     # /robot1/mpc
    ros2 launch docs/launch/dmpc_diffdrive.launch.py namespace:=robot2 params_file:=/path/tuned.yaml

dmpc is a Node.js program, not a ROS package, so it is started with ExecuteProcess (launch_ros's
Node action needs a package and an executable); its ROS arguments go after --ros-args exactly as
Node(ros_arguments=[...]) would put them. The node is /<namespace>/mpc; its topics are the
configuration's relative names in that namespace (odom, goal_pose, estop, ...), the command remapped to
the diff_drive_controller of ros2_control in the same namespace (Humble: its Twist input is
~/cmd_vel_unstamped); /diagnostics stays absolute. Parameters: controllers/diffdrive.yaml (the format
`ros2 param dump` writes), then -p rules, which win. See docs/ros.md, "Names, remapping and parameter
files". DMPC_HOME points at the dmpc checkout (default: two directories above this file).
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.substitutions import LaunchConfiguration

DMPC_HOME = os.environ.get(
    'DMPC_HOME', os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))


def generate_launch_description():
    namespace = LaunchConfiguration('namespace')
    params_file = LaunchConfiguration('params_file')
    cmd_vel = LaunchConfiguration('cmd_vel')
    log_level = LaunchConfiguration('log_level')
    return LaunchDescription([
        DeclareLaunchArgument('namespace', default_value='robot1',
                              description='namespace of the controller and of its topics'),
        DeclareLaunchArgument('params_file',
                              default_value=os.path.join(DMPC_HOME, 'controllers', 'diffdrive.yaml'),
                              description='ROS 2 parameter file (ros2 param dump format)'),
        DeclareLaunchArgument('cmd_vel', default_value='diff_drive_controller/cmd_vel_unstamped',
                              description='where the Twist commands go (relative: in the namespace)'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='info: every event line; warn: start-up lines only'),
        ExecuteProcess(
            cmd=[
                # bin/dmpc.js runs itself (its shebang holds the Node.js flags the node is measured with)
                os.path.join(DMPC_HOME, 'bin', 'dmpc.js'), 'ros',
                '--config', os.path.join(DMPC_HOME, 'controllers', 'diffdrive.json'),
                '--transport', 'auto',
                '--ros-args',
                '-r', ['__ns:=/', namespace],
                '-r', '__node:=mpc',
                '-r', ['cmd_vel:=', cmd_vel],
                '--params-file', params_file,
                '-p', 'solver.max_iter:=40',
                '--log-level', log_level,
            ],
            name='mpc',
            output='screen',
            # SIGINT from ros2 launch: the node publishes its stop command and exits (docs/ros.md)
            sigterm_timeout='5',
        ),
    ])
