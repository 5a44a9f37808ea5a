//! Thin command-line front end; all work is in the library.

use clap::{Parser, Subcommand};
use monitor::config::{self, Overrides};
use monitor::run::{run, RunOptions};
use monitor::MonitorError;
use std::path::PathBuf;
use std::process::ExitCode;

/// 防止返贫致贫监测 月度批处理
#[derive(Parser)]
#[command(
    name = "monitor",
    version,
    about = "防止返贫致贫监测：读取当月农户、收入和刚性支出数据，按地方政策测算风险户，生成台账和附件表格"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// 运行某月的监测（例：monitor run --month 2020-03）
    Run {
        /// 监测月份，格式 2020-03
        #[arg(long)]
        month: String,
        /// 工作区配置文件（默认当前目录的 monitor.toml）
        #[arg(long)]
        config: Option<PathBuf>,
        /// 规则文件（覆盖配置）
        #[arg(long)]
        rules: Option<PathBuf>,
        /// 农户信息文件
        #[arg(long)]
        households: Option<PathBuf>,
        /// 收入文件
        #[arg(long)]
        income: Option<PathBuf>,
        /// 刚性支出/部门预警文件（可多次指定）
        #[arg(long)]
        expenses: Vec<PathBuf>,
        /// 家庭成员文件
        #[arg(long)]
        members: Option<PathBuf>,
        /// 输出目录（结果写在 <out>/<月份>/ 下）
        #[arg(long)]
        out: Option<PathBuf>,
        /// 不显示进度条
        #[arg(long, short)]
        quiet: bool,
    },
    /// 规则文件相关操作
    Rules {
        #[command(subcommand)]
        cmd: RulesCmd,
    },
}

#[derive(Subcommand)]
enum RulesCmd {
    /// 运行规则文件旁的测试用例（<名称>.cases.toml）
    Test {
        /// 规则文件或目录（默认 rules/）
        paths: Vec<PathBuf>,
    },
}

/// Exit code when `rules test` finds failing cases.
const EXIT_CASES_FAILED: u8 = 10;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Run {
            month,
            config,
            rules,
            households,
            income,
            expenses,
            members,
            out,
            quiet,
        } => cmd_run(
            month,
            config,
            Overrides {
                rules,
                out,
                households,
                income,
                expenses,
                members,
            },
            quiet,
        ),
        Cmd::Rules {
            cmd: RulesCmd::Test { paths },
        } => cmd_rules_test(paths),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("错误：{e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn cmd_run(
    month: String,
    config: Option<PathBuf>,
    o: Overrides,
    quiet: bool,
) -> Result<u8, MonitorError> {
    let (cfg, base) = config::load(config.as_deref())?;
    let plan = config::plan(&cfg, &base, &o, &month)?;
    let outcome = run(&plan, &RunOptions { month, quiet })?;
    let s = &outcome.summary;
    let by: Vec<String> = s
        .counts
        .by_status
        .iter()
        .map(|(k, v)| format!("{k} {v} 户"))
        .collect();
    println!(
        "{} 监测完成：测算 {} 户，发现风险户 {} 户 {} 人{}；数据问题 {} 条（其中跳过 {} 行）。",
        s.month,
        s.counts.households_read,
        s.counts.risk_households,
        s.counts.risk_people,
        if by.is_empty() {
            String::new()
        } else {
            format!("（{}）", by.join("，"))
        },
        s.counts.data_issues,
        s.counts.rows_skipped
    );
    println!("结果已写入：{}", outcome.dir.display());
    Ok(0)
}

fn cmd_rules_test(paths: Vec<PathBuf>) -> Result<u8, MonitorError> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("rules")]
    } else {
        paths
    };
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            files.extend(monitor::rules::rule_files(&p)?);
        } else {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(MonitorError::Config("没有找到规则文件".into()));
    }
    let (mut passed, mut failed) = (0, 0);
    for f in files {
        let r = monitor::cases::run_file(&f)?;
        println!("规则文件 {}", r.rule_file);
        for c in &r.results {
            println!(
                "  {} {}：{}",
                if c.ok { "通过" } else { "失败" },
                c.name,
                c.detail
            );
        }
        failed += r.failed();
        passed += r.results.len() - r.failed();
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { 0 } else { EXIT_CASES_FAILED })
}
