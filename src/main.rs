//! Thin command-line front end; all work is in the library.

use clap::{Args, Parser, Subcommand};
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

/// Where a month's inputs come from: the workspace file, overridden by flags.
#[derive(Args)]
struct Inputs {
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
    /// 不显示进度条
    #[arg(long, short)]
    quiet: bool,
}

impl Inputs {
    fn plan(
        &self,
        out: Option<PathBuf>,
        store: Option<PathBuf>,
    ) -> Result<config::Plan, MonitorError> {
        let (cfg, base) = config::load(self.config.as_deref())?;
        let o = Overrides {
            rules: self.rules.clone(),
            out,
            households: self.households.clone(),
            income: self.income.clone(),
            expenses: self.expenses.clone(),
            members: self.members.clone(),
            store,
        };
        config::plan(&cfg, &base, &o, &self.month)
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// 运行某月的监测（例：monitor run --month 2020-03）
    Run {
        #[command(flatten)]
        inputs: Inputs,
        /// 输出目录（结果写在 <out>/<月份>/ 下）
        #[arg(long)]
        out: Option<PathBuf>,
        /// 监测历史库文件（默认工作区的 monitor-history.sqlite）
        #[arg(long)]
        store: Option<PathBuf>,
        /// 允许在运行过更晚月份后重跑较早的月份
        #[arg(long)]
        force: bool,
    },
    /// 只检查某月的输入表（不写结果、不改历史库），列出数据问题
    Check {
        #[command(flatten)]
        inputs: Inputs,
    },
    /// 读回填好的研判表（附件5/6），核对村级评议、公示、乡镇审核，作为县级审定记录研判结论，并按结论重新生成该月的台账和研判表
    Decide {
        /// 研判表所属月份，格式 2020-03
        #[arg(long)]
        month: String,
        /// 填好的研判表（附件5/6）和帮扶措施表（附件4），可以给多个文件
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// 研判人（默认取系统用户名）
        #[arg(long)]
        by: Option<String>,
        /// 工作区配置文件（默认当前目录的 monitor.toml）
        #[arg(long)]
        config: Option<PathBuf>,
        /// 监测历史库文件
        #[arg(long)]
        store: Option<PathBuf>,
        /// 输出目录
        #[arg(long)]
        out: Option<PathBuf>,
        /// 不显示进度条
        #[arg(long, short)]
        quiet: bool,
    },
    /// 查看某户逐月的监测记录（monitor history 户编号），或新建历史库（--init）
    History {
        /// 户编号
        household: Option<String>,
        /// 新建监测历史库（已存在时拒绝）
        #[arg(long)]
        init: bool,
        /// 工作区配置文件（默认当前目录的 monitor.toml）
        #[arg(long)]
        config: Option<PathBuf>,
        /// 监测历史库文件
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// 新建工作区：配置文件、规则文件、数据文件夹和给乡镇的填报模板（例：monitor init 勐海 --rules menghai-2020）
    Init {
        /// 工作区文件夹（默认当前文件夹）
        dir: Option<PathBuf>,
        /// 规则文件：mile-2020、menghai-2020、bayannur-2020、panzhihua-2020（monitor rules list 查看）
        #[arg(long)]
        rules: String,
    },
    /// 市级汇总：合并各县某月的结果（例：monitor rollup --month 2020-03 临河区 五原县 磴口县）
    Rollup {
        /// 月份，格式 2020-03
        #[arg(long)]
        month: String,
        /// 各县的工作区文件夹，或各县的 summary.json
        #[arg(required = true)]
        counties: Vec<PathBuf>,
        /// 输出文件夹（默认 rollup/<月份>/）
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// 查看某月各乡镇等待研判、审定的户数和逾期情况（只读）
    Status {
        /// 月份，格式 2020-03
        #[arg(long)]
        month: String,
        /// 按哪一天判断逾期，格式 2020-03-31（默认今天）
        #[arg(long)]
        today: Option<String>,
        /// 有逾期时退出码为 13（供计划任务提醒）
        #[arg(long)]
        fail_overdue: bool,
        /// 工作区配置文件（默认当前目录的 monitor.toml）
        #[arg(long)]
        config: Option<PathBuf>,
        /// 监测历史库文件
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// 规则文件相关操作
    Rules {
        #[command(subcommand)]
        cmd: RulesCmd,
    },
    /// 表样（附件1–6 的版式）相关操作：导出到工作区 forms/ 后可按本县样式修改
    Forms {
        #[command(subcommand)]
        cmd: FormsCmd,
    },
}

#[derive(Subcommand)]
enum FormsCmd {
    /// 把程序自带的表样写到 forms/（已有的文件不覆盖），并写出 字段说明.txt
    Export {
        /// 写到哪个文件夹（默认 monitor.toml 所在工作区的 forms/）
        #[arg(long)]
        dir: Option<PathBuf>,
        /// 工作区配置文件（默认当前目录的 monitor.toml）
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// 列出本工作区使用的表样（自带或本县修改过的），并检查本县的表样文件
    List {
        /// 工作区配置文件（默认当前目录的 monitor.toml）
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RulesCmd {
    /// 列出程序自带的规则文件（地方、文件、印发日期、适用月份）
    List,
    /// 运行规则文件旁的测试用例（<名称>.cases.toml）
    Test {
        /// 规则文件或目录（默认 rules/）
        paths: Vec<PathBuf>,
    },
}

/// `monitor forms export` / `monitor forms list`.
fn cmd_forms(cmd: FormsCmd) -> monitor::Result<u8> {
    match cmd {
        FormsCmd::Export { dir, config } => {
            let dir = match dir {
                Some(d) => d,
                None => monitor::config::forms_dir(config.as_deref())?,
            };
            for (p, written) in monitor::forms::export(&dir)? {
                let what = if written {
                    "已写出"
                } else {
                    "已存在，未覆盖"
                };
                println!("{what}：{}", p.display());
            }
            println!("修改后，monitor run 和 monitor decide 自动使用这些表样；删除某个文件即恢复程序自带的样式。");
            Ok(0)
        }
        FormsCmd::List { config } => {
            let dir = monitor::config::forms_dir(config.as_deref())?;
            let forms = monitor::forms::load(Some(&dir))?;
            for f in [
                &forms.application,
                &forms.survey,
                &forms.budget,
                &forms.measures,
                &forms.review,
            ] {
                println!("{}　{}", f.spec.title, f.source);
            }
            Ok(0)
        }
    }
}

/// Exit code when `rules test` finds failing cases.
const EXIT_CASES_FAILED: u8 = 10;
/// Exit code when `check` finds data problems.
const EXIT_DATA_PROBLEMS: u8 = 11;

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // A panic anywhere is reported in Chinese with its own exit code; the
    // run's atomic publication means nothing was changed.
    let result = monitor::error::catch_panic(|| dispatch(cli))
        .unwrap_or_else(|p| Err(MonitorError::Internal(p)));
    monitor::phases::end();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("错误：{e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Help in Chinese: headings, the help/version flags, the usage line.
fn localize(cmd: clap::Command) -> clap::Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let mut cmd = cmd
        .help_template("{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}")
        .next_help_heading("选项")
        .subcommand_help_heading("命令")
        .subcommand_value_name("命令")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .mut_args(|a| a.help_heading("选项"));
    for n in names {
        cmd = cmd.mut_subcommand(n, localize);
    }
    cmd
}

fn localized_command() -> clap::Command {
    use clap::{Arg, ArgAction, CommandFactory};
    localize(Cli::command())
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .help("显示帮助")
                .action(ArgAction::Help)
                .global(true),
        )
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .help("显示版本")
                .action(ArgAction::Version),
        )
}

/// Parse the command line; clap's own errors are put in Chinese (exit 2).
fn parse_cli() -> Result<Cli, ExitCode> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::FromArgMatches;
    let parsed = localized_command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let e = match parsed {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return Err(ExitCode::SUCCESS);
    }
    let ctx = |k: ContextKind| match e.get(k) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join("、"),
        _ => String::new(),
    };
    let arg = ctx(ContextKind::InvalidArg);
    let value = ctx(ContextKind::InvalidValue);
    let msg = match e.kind() {
        ErrorKind::UnknownArgument => format!(
            "不认识的参数“{arg}”{}",
            if arg.starts_with('-') && arg[1..].starts_with(|c: char| c.is_ascii_digit()) {
                "（以“-”开头的值请写成 --month=值 的形式；月份应写成 2020-03）"
            } else {
                ""
            }
        ),
        ErrorKind::InvalidSubcommand => format!(
            "不认识的命令“{}”；可用命令：run、check、decide、history、rules",
            ctx(ContextKind::InvalidSubcommand)
        ),
        ErrorKind::MissingRequiredArgument => format!("缺少必需的参数：{arg}"),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "缺少命令：可用命令 run、check、decide、history、rules".to_string()
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation if value.is_empty() => {
            format!("参数“{arg}”后面缺少取值")
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            format!("参数“{arg}”的取值“{value}”不对")
        }
        ErrorKind::ArgumentConflict => format!("参数“{arg}”不能和其他参数同时使用"),
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => {
            format!("参数“{arg}”给了太多次或太多取值：“{value}”")
        }
        ErrorKind::InvalidUtf8 => "命令行参数中有无法识别的字符".to_string(),
        _ => "命令行参数有误".to_string(),
    };
    eprintln!("错误：{msg}。用法见 monitor --help（各命令见 monitor 命令 --help）");
    Err(ExitCode::from(2))
}

fn dispatch(cli: Cli) -> Result<u8, MonitorError> {
    match cli.cmd {
        Cmd::Run {
            inputs,
            out,
            store,
            force,
        } => cmd_run(&inputs, out, store, force),
        Cmd::Check { inputs } => cmd_check(&inputs),
        Cmd::Decide {
            month,
            files,
            by,
            config,
            store,
            out,
            quiet,
        } => cmd_decide(month, files, by, config, store, out, quiet),
        Cmd::History {
            household,
            init,
            config,
            store,
        } => cmd_history(household, init, config, store),
        Cmd::Status {
            month,
            today,
            fail_overdue,
            config,
            store,
        } => cmd_status(&month, today, fail_overdue, config, store),
        Cmd::Rules {
            cmd: RulesCmd::Test { paths },
        } => cmd_rules_test(paths),
        Cmd::Forms { cmd } => cmd_forms(cmd),
        Cmd::Rules {
            cmd: RulesCmd::List,
        } => {
            for line in monitor::setup::rules_list()? {
                println!("{line}");
            }
            Ok(0)
        }
        Cmd::Rollup {
            month,
            counties,
            out,
        } => {
            let r = monitor::rollup::rollup(&month, &counties)?;
            let dir = out.unwrap_or_else(|| PathBuf::from("rollup").join(&r.month));
            let files = monitor::rollup::write(&r, &dir)?;
            println!(
                "{} 汇总 {} 个县：列出 {} 户 {} 人，监测户 {} 户，预警户 {} 户。",
                r.month,
                r.counties.len(),
                r.total.listed.0,
                r.total.listed.1,
                r.total.monitored,
                r.total.warned
            );
            for f in files {
                println!("  {}", f.display());
            }
            Ok(0)
        }
        Cmd::Init { dir, rules } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("."));
            let written = monitor::setup::init(&dir, &rules)?;
            println!("已在 {} 新建工作区：", dir.display());
            for w in written {
                println!("  {w}");
            }
            println!("下一步：把“模板”文件夹中的表格发给各乡镇填写，收回后放到 data/<月份>/，再运行 monitor run --month <月份>");
            Ok(0)
        }
    }
}

/// Exit code when `status --fail-overdue` finds overdue items.
const EXIT_OVERDUE: u8 = 13;

fn cmd_status(
    month: &str,
    today: Option<String>,
    fail_overdue: bool,
    config: Option<PathBuf>,
    store: Option<PathBuf>,
) -> Result<u8, MonitorError> {
    let m = monitor::normalize::parse_month_arg(month).map_err(MonitorError::Config)?;
    let today = match today {
        Some(t) => monitor::normalize::parse_date_str(&t)
            .map_err(|e| MonitorError::Config(format!("--today：{e}")))?,
        None => chrono::Local::now().date_naive(),
    };
    let (cfg, base) = config::load(config.as_deref())?;
    let store = config::store_path(
        &cfg,
        &base,
        &Overrides {
            store,
            ..Default::default()
        },
    );
    let rules = cfg
        .run
        .rules
        .as_ref()
        .map(|r| base.join(r))
        .ok_or_else(|| {
            MonitorError::Config("monitor.toml 中没有写规则文件（[run] rules）".into())
        })?;
    let r = monitor::calendar::status_report(&store, &rules, m, today)?;
    println!("{} 监测进度（按 {} 计）", r.month, r.today);
    if r.due.is_empty() {
        println!("规则文件未规定各环节的日期。");
    } else {
        let due: Vec<String> = r
            .due
            .iter()
            .map(|d| format!("{} {}", d.step, d.date))
            .collect();
        println!("日程：{}", due.join("；"));
    }
    if r.waiting.is_empty() {
        println!("没有等待研判或审定的户。");
    }
    for (town, w) in &r.waiting {
        println!(
            "  {town}：预警待研判 {} 户（其中上月以前转来 {} 户），建议消除待审定 {} 户，本月已审定 {} 户，逾期 {} 户",
            w.awaiting_review, w.carried_from_earlier, w.suggested_elimination, w.decided, w.overdue
        );
    }
    let overdue = r.overdue();
    if overdue > 0 {
        println!(
            "逾期共 {overdue} 户（审定截止 {}，或预警已跨月未研判）。",
            r.decision_due
                .map(|d| d.to_string())
                .unwrap_or_else(|| "未规定".into())
        );
        if fail_overdue {
            return Ok(EXIT_OVERDUE);
        }
    }
    Ok(0)
}

fn cmd_run(
    inputs: &Inputs,
    out: Option<PathBuf>,
    store: Option<PathBuf>,
    force: bool,
) -> Result<u8, MonitorError> {
    let plan = inputs.plan(out, store)?;
    let outcome = run(
        &plan,
        &RunOptions {
            quiet: inputs.quiet,
            force,
        },
    )?;
    let s = &outcome.summary;
    let by: Vec<String> = s
        .counts
        .by_status
        .iter()
        .map(|(k, v)| format!("{k} {v} 户"))
        .collect();
    println!(
        "{} 监测完成：测算 {} 户，本月触发预警 {} 户 {} 人；监测户 {} 户{}；预警户（待研判、审定）{} 户；已研判不纳入 {} 户；数据问题 {} 条（其中跳过 {} 行）。",
        s.month,
        s.counts.households_read,
        s.counts.risk_households,
        s.counts.risk_people,
        s.counts.monitored,
        if by.is_empty() {
            String::new()
        } else {
            format!("（{}）", by.join("，"))
        },
        s.counts.warned,
        s.counts.declined,
        s.counts.data_issues,
        s.counts.rows_skipped
    );
    if s.counts.poor_warned > 0 {
        println!(
            "另有未脱贫户触发预警 {} 户（单独列出，不计入以上各类）。",
            s.counts.poor_warned
        );
    }
    let st: Vec<String> = s
        .counts
        .by_monitoring_status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    if !st.is_empty() {
        println!(
            "监测状态：{}；累计风险消除 {} 户；自然增减 {} 条。",
            st.join("，"),
            s.counts.eliminated_total,
            s.counts.natural_changes
        );
    }
    println!("结果已写入：{}", outcome.dir.display());
    for w in &outcome.warnings {
        eprintln!("提醒：{w}");
    }
    if !outcome.stale_later_months.is_empty() {
        eprintln!(
            "注意：以后的月份（{}）是按重跑前的结果推算的，请按顺序重跑这些月份。",
            outcome.stale_later_months.join("、")
        );
    }
    Ok(0)
}

fn cmd_check(inputs: &Inputs) -> Result<u8, MonitorError> {
    let plan = inputs.plan(None, None)?;
    let month = plan.month.format("%Y-%m").to_string();
    let r = monitor::run::check(&plan, inputs.quiet)?;
    println!(
        "{month} 输入检查：农户 {} 户，家庭成员 {} 人，支出记录 {} 条；按规则将有 {} 户触发预警。",
        r.households, r.members, r.expenses, r.at_risk
    );
    if r.issues.is_empty() {
        println!("未发现数据问题。");
        return Ok(0);
    }
    println!("数据问题 {} 条：", r.issues.len());
    for i in &r.issues {
        let value = if i.value.is_empty() {
            String::new()
        } else {
            format!("（原值“{}”）", i.value)
        };
        println!("  [{}] {}：{}{value}", i.severity, i.loc, i.reason);
    }
    Ok(EXIT_DATA_PROBLEMS)
}

fn workspace(
    config: Option<PathBuf>,
    store: Option<PathBuf>,
    out: Option<PathBuf>,
) -> Result<(PathBuf, PathBuf), MonitorError> {
    let (cfg, base) = config::load(config.as_deref())?;
    let o = Overrides {
        store,
        ..Default::default()
    };
    let store = config::store_path(&cfg, &base, &o);
    let out = out
        .or_else(|| cfg.run.out.as_ref().map(|s| base.join(s)))
        .unwrap_or_else(|| base.join("out"));
    Ok((store, out))
}

fn cmd_decide(
    month: String,
    files: Vec<PathBuf>,
    by: Option<String>,
    config: Option<PathBuf>,
    store: Option<PathBuf>,
    out: Option<PathBuf>,
    quiet: bool,
) -> Result<u8, MonitorError> {
    let (cfg, base) = config::load(config.as_deref())?;
    let plan = config::plan(
        &cfg,
        &base,
        &Overrides {
            store,
            out,
            ..Default::default()
        },
        &month,
    )?;
    let by = by
        .or_else(|| std::env::var("USERNAME").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "未署名".into());
    let r = monitor::decide::decide(&plan, &files, &by, quiet)?;
    if r.measures_recorded > 0 {
        println!("已记录 {} 户的帮扶措施和帮扶责任人。", r.measures_recorded);
    }
    let parts: Vec<String> = r
        .by_decision
        .iter()
        .map(|(k, v)| format!("{k} {v} 户"))
        .collect();
    println!(
        "已记录 {} 的研判结论 {} 条（{}），审定人：{by}；该月的台账、研判表和 summary.json 已按结论重新生成。",
        r.month,
        r.recorded,
        parts.join("，")
    );
    if r.already > 0 {
        println!(
            "另有 {} 条结论与已记录的相同（同一份研判表重复提交），未重复记录。",
            r.already
        );
    }
    for w in &r.warnings {
        eprintln!("提醒：{w}");
    }
    if !r.later_months.is_empty() {
        eprintln!(
            "注意：以后的月份（{}）已经运行过，结论要在重跑这些月份后才体现：请按顺序用 --force 重跑。",
            r.later_months.join("、")
        );
    }
    Ok(0)
}

fn cmd_history(
    household: Option<String>,
    init: bool,
    config: Option<PathBuf>,
    store: Option<PathBuf>,
) -> Result<u8, MonitorError> {
    let (store, out) = workspace(config, store, None)?;
    if init {
        monitor::history::Store::create(&store)?;
        println!("已新建监测历史库：{}", store.display());
        return Ok(0);
    }
    let Some(id) = household else {
        return Err(MonitorError::Config(
            "请给出户编号，例如：monitor history 5325040001000010".into(),
        ));
    };
    let mut s = monitor::history::Store::open(&store)?;
    // Finish or undo a run that was killed, unless one is running now.
    if let Ok(tx) = s.begin() {
        for w in monitor::run::recover(&out, &tx)? {
            eprintln!("提醒：{w}");
        }
        tx.commit()?;
    }
    let r = s.reader();
    let months = r.household(&id)?;
    if months.is_empty() {
        return Err(MonitorError::Refused(format!(
            "户编号 {id} 在监测历史中没有记录"
        )));
    }
    println!("户编号 {id} 的监测记录（{}）", store.display());
    println!(
        "{:<8}  {:<12}  {:>12}  风险类型",
        "月份", "监测状态", "人均纯收入"
    );
    for (month, status, causes, pc) in months {
        let causes: Vec<String> = serde_json::from_str(&causes).unwrap_or_default();
        println!(
            "{month:<8}  {status:<12}  {:>12}  {}",
            pc.unwrap_or_else(|| "未测算".into()),
            causes.join("、")
        );
    }
    let supports = r.supports_of(&id)?;
    if !supports.is_empty() {
        println!("帮扶措施（附件4）：");
        for (month, s, by, at) in supports {
            println!(
                "  {month}  帮扶责任人 {} {}，记录人 {by}，记录于 {at}",
                s.helper, s.phone
            );
            for m in s.measures {
                println!(
                    "    {} {}（{}{}）{}",
                    m.category,
                    m.detail,
                    m.unit,
                    if m.person.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", m.person)
                    },
                    m.done
                        .map(|d| format!(" 落实于 {d}"))
                        .unwrap_or_else(|| " 未落实".into())
                );
            }
        }
    }
    let ds = r.decisions_of(&id)?;
    if !ds.is_empty() {
        println!("研判结论：");
        for d in ds {
            println!(
                "  {}  {}{}  研判人 {}，记录于 {}（{}）",
                d.month,
                d.decision,
                d.method.map(|m| format!("（{m}）")).unwrap_or_default(),
                d.by,
                d.at,
                d.source
            );
        }
    }
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
